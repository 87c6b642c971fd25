"""The generated-plus-overlay collection: lazy records, runtime changes, the deletion log."""

from __future__ import annotations

from typing import Any

from hub.sandbox.collection import GeneratedCollection

BASE = 5_000


class _Clock:
    def __init__(self) -> None:
        self.now = 2_000.0

    def __call__(self) -> float:
        return self.now


def _collection(count: int, clock: _Clock) -> tuple[GeneratedCollection, list[int]]:
    generated: list[int] = []

    def generate(index: int) -> dict[str, Any]:
        generated.append(index)
        return {"id": BASE + index, "name": f"record {index}", "changed_at": index}

    def stamp(record: dict[str, Any], ts: int) -> dict[str, Any]:
        record["changed_at"] = ts
        return record

    collection = GeneratedCollection(
        count=count,
        generate=generate,
        id_of=lambda i: BASE + i,
        index_of=lambda record_id: record_id - BASE if 0 <= record_id - BASE < count else None,
        ts_of=lambda i: i,
        next_id=BASE + count,
        clock=clock,
        stamp=stamp,
    )
    return collection, generated


def _ids(collection: GeneratedCollection, since: int, limit: int = 100) -> list[int]:
    entries, _ = collection.scan_changes(since, limit)
    return [collection.at(e)["id"] for e in entries]


def test_lookups_and_scans_in_a_million_records_generate_only_what_they_return() -> None:
    collection, generated = _collection(1_000_000, _Clock())
    assert collection.get(BASE + 777_777) == {"id": BASE + 777_777, "name": "record 777777",
                                              "changed_at": 777_777}  # fmt: skip
    assert _ids(collection, since=500_000, limit=3) == [
        BASE + 500_000,
        BASE + 500_001,
        BASE + 500_002,
    ]
    assert collection.get(BASE + 1_000_000) is None
    assert len(generated) == 4


def test_an_update_moves_the_record_to_the_end_with_the_server_time() -> None:
    clock = _Clock()
    collection, _ = _collection(10, clock)
    clock.now = 2_500.0
    changed = collection.save({**collection.get(BASE + 3), "name": "renamed"})  # type: ignore[dict-item]
    assert changed["changed_at"] == 2_500
    assert collection.get(BASE + 3) == changed
    assert _ids(collection, since=0) == [BASE + i for i in (0, 1, 2, 4, 5, 6, 7, 8, 9, 3)]
    assert _ids(collection, since=1_000) == [BASE + 3]


def test_created_records_take_fresh_ids_and_follow_the_generated_ones() -> None:
    clock = _Clock()
    collection, _ = _collection(3, clock)
    created = collection.create(lambda record_id: {"id": record_id, "name": "new"})
    assert created["id"] == BASE + 3
    assert collection.get(BASE + 3) == created
    assert _ids(collection, since=0) == [BASE, BASE + 1, BASE + 2, BASE + 3]


def test_deletes_leave_the_scan_and_are_logged_with_when_they_happened() -> None:
    clock = _Clock()
    collection, _ = _collection(5, clock)
    created = collection.create(lambda record_id: {"id": record_id, "name": "new"})
    clock.now = 3_000.0
    gone = collection.delete(BASE + 1)
    clock.now = 3_100.0
    collection.delete(created["id"])
    assert gone is not None and gone.deleted_at == 3_000
    assert gone.record["name"] == "record 1"  # its last state, for queryAll-style endpoints
    assert collection.get(BASE + 1) is None
    assert collection.delete(BASE + 1) is None  # a second delete finds nothing
    assert _ids(collection, since=0) == [BASE, BASE + 2, BASE + 3, BASE + 4]
    assert [d.record_id for d in collection.deletions_between(3_000, 3_100)] == [BASE + 1]
    assert [d.record_id for d in collection.deletions_between(0, 10_000)] == [
        BASE + 1,
        created["id"],
    ]
    assert collection.latest_deletion() == 3_100


def test_change_times_never_go_backwards_when_the_clock_does() -> None:
    clock = _Clock()
    collection, _ = _collection(3, clock)
    clock.now = 4_000.0
    collection.save({"id": BASE, "name": "first"})
    clock.now = 3_000.0  # the server clock is stepped back
    later = collection.save({"id": BASE + 1, "name": "second"})
    assert later["changed_at"] == 4_000
