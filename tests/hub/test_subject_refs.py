"""Erasure finds a customer's records by ``customer_ref``: in every shipped mapping, each
customer_ref must name the object type of that connector's customer stream, or a forget
would leave that connector's cases and interactions unshredded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from hub.models import MODELS

MAPPINGS = sorted((Path(__file__).parents[2] / "mappings").glob("*.yaml"))
CUSTOMER_REF_KINDS = {
    kind for kind, model in MODELS.items() if "customer_ref" in model.model_fields
}


def _refs(mapping: dict[str, Any]) -> tuple[set[str], list[tuple[str, str, str]]]:
    """The customer streams' object types, and (stream, model, referenced type) of each
    customer_ref."""
    customers: set[str] = set()
    refs: list[tuple[str, str, str]] = []
    for name, stream in mapping["streams"].items():
        for target in stream["targets"]:
            if target["model"] == "customer":
                customers.add(stream["object_type"])
            spec = target.get("fields", {}).get("customer_ref")
            if spec is None:
                continue
            [ref] = [t["ref"] for t in spec["transforms"] if isinstance(t, dict) and "ref" in t]
            refs.append((name, target["model"], ref))
    return customers, refs


def test_the_shipped_mappings_are_all_checked() -> None:
    assert {p.stem for p in MAPPINGS} == {"genesys", "salesforce", "twilio", "zendesk"}
    assert {"case", "interaction", "entitlement", "contract"} <= CUSTOMER_REF_KINDS


@pytest.mark.parametrize("path", MAPPINGS, ids=lambda p: p.stem)
def test_every_customer_ref_names_the_customer_streams_object_type(path: Path) -> None:
    customers, refs = _refs(yaml.safe_load(path.read_text(encoding="utf-8")))

    for stream, model, ref in refs:
        assert model in CUSTOMER_REF_KINDS
        assert ref in customers, f"{path.name} {stream}: customer_ref -> {ref}, not {customers}"
    if refs:
        assert customers, f"{path.name} references customers but maps none"
