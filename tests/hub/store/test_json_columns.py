"""The store's JSON columns: orjson's text, read back to the same values; what json.dumps
treated otherwise is still treated as json.dumps did."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from hub.runtime import Hub
from hub.store.json_columns import dumps
from hub.store.schema import records

values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(values)
def test_every_json_value_reads_back_as_it_was_written(value: Any) -> None:
    assert json.loads(dumps(value)) == value


@pytest.mark.parametrize("value", [{1: "a"}, [2**70], "\ud800", {"k": [1.5, {"n": 2**65}]}])
def test_what_orjson_does_not_write_is_written_as_json_dumps_wrote_it(value: Any) -> None:
    assert dumps(value) == json.dumps(value)


def test_a_value_json_cannot_hold_is_refused_as_before() -> None:
    with pytest.raises(TypeError):
        dumps({"at": datetime(2026, 12, 2, tzinfo=UTC)})


async def test_a_records_data_is_written_by_the_engines_serializer_and_reads_back(
    hub: Hub,
) -> None:
    data = {"subject": "v1:AAAA", "tags": ["a", "é"], "n": 1, "x": None}
    async with hub.engine.begin() as conn:
        await conn.execute(
            records.insert().values(
                connection="zd",
                object_type="ticket",
                external_id="1",
                kind="case",
                stream="tickets",
                data=data,
                raw="v1:BBBB",
                content_hash="c" * 64,
                mapping_version="m1",
                deleted=False,
                created_at=datetime(2026, 12, 2, tzinfo=UTC),
                updated_at=datetime(2026, 12, 2, tzinfo=UTC),
            )
        )
    async with hub.engine.connect() as conn:
        stored = await conn.scalar(sa.select(records.c.data))
        text = await conn.scalar(sa.select(sa.cast(records.c.data, sa.Text)))
    assert stored == data
    assert json.loads(text) == data
    assert "é" in text  # orjson's UTF-8, where json.dumps wrote \u00e9
