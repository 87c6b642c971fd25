"""Mapping files: validation on load (file and line), finding them, and what applying one does
to records (the memory connector's mapping, hub/testing/mappings/memory.yaml, as the example)."""

from __future__ import annotations

import contextlib
import logging
import re
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pluggy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub import plugins
from hub.errors import MappingError, RecordInvalid
from hub.mapping import Mapping, Tombstone, find_mapping, load_mapping
from hub.models import Agent, Case, Customer

REPO = Path(__file__).resolve().parents[2]
MEMORY = REPO / "hub" / "testing" / "mappings" / "memory.yaml"


@pytest.fixture(autouse=True)
def isolated_plugins(monkeypatch: pytest.MonkeyPatch) -> pluggy.PluginManager:
    """A plugin manager without installed entry points, so only this test's plugins count."""
    pm = pluggy.PluginManager("hub")
    pm.add_hookspecs(plugins.HubSpec)
    monkeypatch.setattr(plugins, "plugin_manager", lambda: pm)
    return pm


def write(tmp_path: Path, text: str, name: str = "acme.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def marked_line(path: Path) -> int:
    """The line carrying the ``# <-`` marker: where the error must point."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, start=1) if "# <-" in line)


_MEMORY = load_mapping(MEMORY, transforms={})  # loaded once: tests only apply it


def memory() -> Mapping:
    return _MEMORY


def apply(stream: str, raw: dict[str, Any]) -> Any:
    return memory().stream(stream).apply(raw, system="memory", connection="mem")


# -- validation: every error names the file and the line ---------------------------------------

HEAD = """
version: "acme-1"
connector: acme
streams:
  people:
    object_type: person
    id: id
    updated_at: updated_at
    targets:
"""

INVALID = {
    "unknown top-level key": (
        'version: "acme-1"\nconnector: acme\nowner: me  # <-\nstreams: {}\n',
        "owner: unknown key",
    ),
    "unknown stream key": (
        HEAD.replace("    id: id", "    id: id\n    cursor: updated_at  # <-")
        + "      - model: customer\n        fields: {}\n",
        "cursor",
    ),
    "unknown model": (HEAD + "      - model: person  # <-\n        fields: {}\n", "unknown model"),
    "unknown canonical field": (
        HEAD + "      - model: customer\n        fields:\n          nickname: nick  # <-\n",
        "no field 'nickname'",
    ),
    "unknown transform": (
        HEAD
        + "      - model: customer\n        fields:\n"
        + "          locale:\n            path: locale\n            transforms:\n"
        + "              - lower\n              - upper  # <-\n",
        "transform upper: unknown",
    ),
    "value_map without a policy for unknown values": (
        HEAD
        + "      - model: customer\n        fields:\n"
        + "          locale:\n            path: locale\n            transforms:\n"
        + "              - value_map:  # <-\n                  values: {en: en-US}\n",
        "exactly one of 'strict: true' or 'default'",
    ),
    "bad transform arguments": (
        HEAD
        + "      - model: customer\n        fields:\n"
        + "          phones: {path: phone, transforms: [{phone: [US, GB]}]}  # <-\n",
        "transform phone: bad arguments",
    ),
    "bad JMESPath expression": (
        HEAD + "      - model: customer\n        fields:\n          locale: 'user.[locale'  # <-\n",
        "bad JMESPath expression",
    ),
    "unknown JMESPath function": (
        HEAD + "      - model: customer\n        when: shout(role)  # <-\n        fields: {}\n",
        "unknown JMESPath function(s) shout",
    ),
    "required canonical field not mapped": (
        HEAD + "      - model: organization\n        fields:  # <-\n          tags: tags\n",
        "needs field(s) name",
    ),
    "two sources for one field": (
        HEAD
        + "      - model: customer\n        fields:\n"
        + "          locale: {path: locale, const: en}  # <-\n",
        "exactly one of path, const, coalesce, concat",
    ),
    "target after a catch-all target": (
        HEAD
        + "      - model: customer  # <-\n        fields: {}\n"
        + "      - model: agent\n        fields: {}\n",
        "unreachable",
    ),
    "duplicate key": (
        HEAD + "      - model: customer\n        fields:\n          locale: a\n"
        "          locale: b  # <-\n",
        "duplicate key 'locale'",
    ),
    "YAML syntax error": (
        HEAD + "      - model: customer\n        fields:\n          locale: a: b  # <-\n",
        "not valid YAML: mapping values are not allowed here",
    ),
    "version that is not text": (
        "version: 1  # <-\nconnector: acme\nstreams: {}\n",
        "valid string",
    ),
}


@pytest.mark.parametrize("case", list(INVALID), ids=list(INVALID))
def test_invalid_mapping_error_names_file_and_line(tmp_path: Path, case: str) -> None:
    text, expected = INVALID[case]
    path = write(tmp_path, text)
    with pytest.raises(MappingError, match=re.escape(expected)) as caught:
        load_mapping(path, transforms={})
    line = marked_line(path)
    assert (caught.value.file, caught.value.line) == (str(path), line)
    assert str(caught.value).startswith(f"{path}:{line}: ")


def test_unknown_stream_names_the_mapped_ones() -> None:
    with pytest.raises(MappingError, match="no mapping for stream 'groups'; mapped streams: "):
        memory().stream("groups")


# -- finding mapping files ---------------------------------------------------------------------


def test_first_directory_holding_the_file_wins(tmp_path: Path) -> None:
    operator, shipped = tmp_path / "operator", tmp_path / "shipped"
    operator.mkdir()
    shipped.mkdir()
    (shipped / "memory.yaml").write_text(MEMORY.read_text())
    edited = MEMORY.read_text().replace('version: "memory-1"', 'version: "memory-1-local"')
    (operator / "memory.yaml").write_text(edited)
    assert find_mapping("memory", [operator, shipped]).version == "memory-1-local"
    assert find_mapping("memory", [tmp_path, shipped]).version == "memory-1"


def test_missing_mapping_file_lists_the_directories_searched(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match=f"no mapping file nosuchvendor.yaml in: {tmp_path}, "):
        find_mapping("nosuchvendor", [tmp_path, REPO / "mappings"])


def test_mapping_file_for_another_connector_is_refused(tmp_path: Path) -> None:
    (tmp_path / "acme.yaml").write_text(MEMORY.read_text())
    with pytest.raises(MappingError, match="connector: 'memory'") as caught:
        find_mapping("acme", [tmp_path])
    assert caught.value.line == 3


# -- applying a mapping -------------------------------------------------------------------------

PERSON = {
    "id": "p35",
    "name": "Johnny Appleseed",
    "email": "Johnny.Appleseed@Example.com",
    "phone": "+1 (415) 555-0100",
    "tags": ["vip", "beta"],
    "deleted": False,
    "updated_at": "2011-05-05T10:38:52Z",
}

CASE = {
    "id": "c7",
    "subject": "Help, my printer is on fire!",
    "status": "pending",
    "person_id": "p35",
    "tags": ["enterprise"],
    "updated_at": "2011-05-05T10:38:52Z",
}


def test_a_person_becomes_a_customer_with_normalised_contacts() -> None:
    customer = apply("people", PERSON)
    assert isinstance(customer, Customer)
    assert customer.provenance.external_id == "p35"
    assert customer.provenance.object_type == "person"
    assert customer.provenance.source_updated_at == datetime(2011, 5, 5, 10, 38, 52, tzinfo=UTC)
    assert customer.emails == ["johnny.appleseed@example.com"]
    assert customer.phones == ["+14155550100"]
    assert customer.tags == ["vip", "beta"]
    assert customer.raw == PERSON


def test_a_person_without_email_or_phone_maps_to_empty_contact_lists() -> None:
    customer = apply("people", {**PERSON, "email": None, "phone": ""})
    assert (customer.emails, customer.phones) == ([], [])


def test_invalid_phone_is_dropped_and_logged_without_the_number(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="hub.mapping"):
        customer = apply("people", {**PERSON, "phone": "555-CALL-ME-NOW"})
    assert customer.phones == []
    assert customer.emails == ["johnny.appleseed@example.com"]
    assert "dropped 1 invalid phone value(s) of field phones" in caplog.text
    assert "CALL" not in caplog.text


def test_a_case_gets_canonical_codes_and_references() -> None:
    case = apply("cases", CASE)
    assert isinstance(case, Case)
    assert (case.status, case.customer_ref, case.tags) == ("pending", "person/p35", ["enterprise"])
    assert case.provenance.object_type == "case"


def test_a_record_the_deleted_when_predicate_matches_becomes_a_tombstone() -> None:
    gone = apply("people", {**PERSON, "deleted": True})
    assert gone == Tombstone("person", "p35", datetime(2011, 5, 5, 10, 38, 52, tzinfo=UTC))


def test_a_value_a_strict_value_map_does_not_know_is_invalid_and_not_quoted() -> None:
    with pytest.raises(RecordInvalid) as caught:
        apply("cases", {**CASE, "status": "escalated-by-jane"})
    message = str(caught.value)
    assert "status: value is not in the value_map (strict)" in message
    assert "escalated" not in message
    assert caught.value.external_id == "c7"


def test_a_missing_required_field_is_invalid() -> None:
    with pytest.raises(RecordInvalid, match="status: Field required"):
        apply("cases", {**CASE, "status": None})


def test_model_validation_errors_name_fields_but_not_personal_values() -> None:
    record = {**CASE, "subject": {"text": "Jane Roe's divorce"}, "updated_at": "soon-ish"}
    with pytest.raises(RecordInvalid) as caught:
        apply("cases", {**record, "updated_at": CASE["updated_at"]})
    assert "subject" in str(caught.value) and "Jane" not in str(caught.value)
    with pytest.raises(RecordInvalid) as caught:
        apply("cases", record)
    assert "updated_at" in str(caught.value) and "soon-ish" not in str(caught.value)


def test_pydantic_type_errors_are_reported_without_the_input() -> None:
    with pytest.raises(RecordInvalid, match=r"subject: Input should be a valid string") as caught:
        apply("cases", {**CASE, "subject": ["Jane Roe's divorce"]})
    assert "Jane" not in str(caught.value)


def test_record_without_an_id_is_invalid() -> None:
    with pytest.raises(RecordInvalid, match="id: no usable id") as caught:
        apply("people", {**PERSON, "id": None})
    assert caught.value.external_id is None


ROUTED = """
version: "acme-1"
connector: acme
streams:
  users:
    object_type: user
    id: id
    updated_at: updated_at
    targets:
      - model: agent
        when: "role == 'agent' || role == 'admin'"
        fields: {role: role, emails: {path: email, transforms: [list, email]}}
      - model: customer
        fields: {emails: {path: email, transforms: [list, email]}}
"""


@pytest.mark.parametrize(("role", "model"), [("agent", Agent), ("admin", Agent), (None, Customer)])
def test_the_first_target_whose_condition_holds_decides_the_model(
    tmp_path: Path, role: str | None, model: type[Any]
) -> None:
    stream = load_mapping(write(tmp_path, ROUTED), transforms={}).stream("users")
    raw = {"id": 1, "role": role, "email": "a@example.com", "updated_at": "2011-05-05T10:38:52Z"}
    assert isinstance(stream.apply(raw, system="acme", connection="a1"), model)


# -- field sources and plugins -----------------------------------------------------------------

SOURCES = """
version: "acme-1"
connector: acme
streams:
  people:
    object_type: person
    id: {path: ref, transforms: [str]}
    updated_at: modified
    targets:
      - model: customer
        fields:
          display_name: {concat: [first, last], separator: " "}
          locale: {coalesce: [prefs.locale, locale], default: en-US}
          time_zone: {const: UTC}
          tags: {path: labels, transforms: [{split: ","}]}
"""


def test_concat_coalesce_const_and_default_fill_fields(tmp_path: Path) -> None:
    stream = load_mapping(write(tmp_path, SOURCES)).stream("people")
    raw = {"ref": 9, "modified": 1700000000, "first": "Ada", "last": None, "labels": "a, b"}
    person = stream.apply(raw, system="acme", connection="a1")
    assert isinstance(person, Customer)
    assert person.provenance.external_id == "9"
    assert person.provenance.source_updated_at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert (person.display_name, person.locale, person.time_zone) == ("Ada", "en-US", "UTC")
    assert person.tags == ["a", "b"]
    raw2 = {**raw, "last": "Lovelace", "locale": "fr-FR", "prefs": {"locale": "de-DE"}}
    person2 = stream.apply(raw2, system="acme", connection="a1")
    assert isinstance(person2, Customer)
    assert (person2.display_name, person2.locale) == ("Ada Lovelace", "de-DE")


class ShoutPlugin:
    """A third-party plugin contributing one transform."""

    @plugins.hookimpl
    def hub_register_transforms(self) -> dict[str, Callable[..., Any]]:
        def shout(value: Any, suffix: str = "!") -> Any:
            if value == "boom":
                raise ValueError(f"cannot shout {value}")
            return None if value is None else f"{str(value).upper()}{suffix}"

        return {"shout": shout}


PLUGGED = SOURCES.replace(
    "time_zone: {const: UTC}", "time_zone: {path: first, transforms: [{shout: '?'}]}"
)


def test_transform_registered_by_a_plugin_is_usable(
    tmp_path: Path, isolated_plugins: pluggy.PluginManager
) -> None:
    isolated_plugins.register(ShoutPlugin())
    stream = load_mapping(write(tmp_path, PLUGGED)).stream("people")
    person = stream.apply({"ref": 1, "first": "ada"}, system="acme", connection="a1")
    assert isinstance(person, Customer)
    assert person.time_zone == "ADA?"


def test_plugin_transform_failure_is_reported_without_its_message(
    tmp_path: Path, isolated_plugins: pluggy.PluginManager
) -> None:
    isolated_plugins.register(ShoutPlugin())
    stream = load_mapping(write(tmp_path, PLUGGED)).stream("people")
    with pytest.raises(RecordInvalid, match="time_zone: transform 'shout' rejected") as caught:
        stream.apply({"ref": 1, "first": "boom"}, system="acme", connection="a1")
    assert "boom" not in str(caught.value)


def test_mapping_using_a_plugin_transform_fails_to_load_without_the_plugin(
    tmp_path: Path,
) -> None:
    with pytest.raises(MappingError, match="transform shout: unknown"):
        load_mapping(write(tmp_path, PLUGGED))


def test_plugin_transform_named_like_a_builtin_is_a_mapping_error(
    tmp_path: Path, isolated_plugins: pluggy.PluginManager
) -> None:
    class Clash:
        @plugins.hookimpl
        def hub_register_transforms(self) -> dict[str, Callable[..., Any]]:
            return {"phone": lambda value: value}

    isolated_plugins.register(Clash())
    with pytest.raises(MappingError, match="clash with built-ins: phone"):
        load_mapping(write(tmp_path, SOURCES))


# -- robustness --------------------------------------------------------------------------------

_KEY_NAMES = [
    "id", "name", "email", "phone", "tags", "deleted", "subject", "status", "person_id",
    "updated_at",
]  # fmt: skip
_KEYS = st.sampled_from(_KEY_NAMES)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(["open", "bogus", "p1", "+1 (415) 555-0100", "2011-05-05T10:38:52Z"]),
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=5),
    max_leaves=12,
)
# Mostly well-identified records, so the fields behind id and updated_at get exercised too.
_RECORDS = st.fixed_dictionaries(
    {
        # deferred() keeps one_of from flattening the scalars into many equal-weight branches.
        "id": st.one_of(st.text(min_size=1, max_size=8), st.deferred(lambda: _SCALARS)),
        "updated_at": st.one_of(
            st.just("2011-05-05T10:38:52Z"), st.integers(), st.deferred(lambda: _SCALARS)
        ),
    },
    optional={key: _JSON for key in _KEY_NAMES if key not in ("id", "updated_at")},
)


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(stream=st.sampled_from(["people", "cases"]), raw=_RECORDS)
def test_arbitrary_json_maps_or_raises_record_invalid_only(
    stream: str, raw: dict[str, Any]
) -> None:
    with contextlib.suppress(RecordInvalid):
        apply(stream, raw)


# -- the reference documentation ---------------------------------------------------------------


def test_examples_in_the_mapping_reference_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = (REPO / "docs" / "mappings.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```(yaml|python)\n(.*?)```", doc, flags=re.DOTALL)
    yaml_examples = [body for lang, body in blocks if lang == "yaml" and "version:" in body]
    python_examples = [body for lang, body in blocks if lang == "python"]
    assert yaml_examples and python_examples
    for i, body in enumerate(yaml_examples):
        load_mapping(write(tmp_path, body, name=f"example{i}.yaml"), transforms={})
    monkeypatch.chdir(REPO)
    for body in python_examples:
        exec(compile(body, "docs/mappings.md", "exec"), {})
