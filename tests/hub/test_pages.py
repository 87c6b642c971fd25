"""The pure page stages: what a mapped page keeps, and what it lets go."""

from __future__ import annotations

import weakref

from hub.mapping import load_mapping
from hub.pages import prepare_page
from hub.runtime import Hub
from hub.testing.memory import MAPPINGS_DIR
from tests.support import collector_off

CASES = load_mapping(MAPPINGS_DIR / "memory.yaml", transforms={}).stream("cases")


def _case(i: int, status: str) -> dict[str, object]:
    return {
        "id": f"c{i}",
        "subject": f"Case {i}",
        "status": status,
        "person_id": "p1",
        "tags": [],
        "updated_at": "2026-12-01T10:00:00Z",
    }


async def test_a_page_with_invalid_records_is_freed_without_the_cyclic_collector(
    hub: Hub,
) -> None:
    page = [_case(1, "open"), _case(2, "bogus"), _case(3, "pending"), _case(4, "bogus")]
    with collector_off():
        prepared = prepare_page(hub, CASES, page, system="memory", connection="mem")
        assert [exc.external_id for _, exc in prepared.invalid] == ["c2", "c4"]
        assert len(prepared.records) == 2
        # An error kept with its traceback would hold prepare_page's frame, and so the whole
        # page, in a cycle: a page per collection would pile up in memory between collections.
        gone = weakref.ref(prepared)
        del prepared
        assert gone() is None
