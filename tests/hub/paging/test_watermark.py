"""The watermark cursor: where each run starts (lookback), where it ends (lag, injectable
clock), and that the boundary records a run re-reads are not yielded twice, including the
property that resuming from any page boundary yields each record exactly once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.errors import VendorError
from hub.paging import (
    PageRequest,
    RestStream,
    StreamStateError,
    TokenPaginator,
    Watermark,
    epoch_seconds,
)
from tests.hub.paging.support import Recorder, ids, read_all, roundtrip

T0 = datetime(2024, 1, 1, tzinfo=UTC)


class ChangesVendor:
    """A list endpoint of records changed since ``since`` (inclusive), ordered by change
    time then id, paged by an opaque ``after`` token; ``changed_at`` holds epoch seconds."""

    def __init__(self, times: list[int], *, size: int) -> None:
        self.records = [{"id": n, "changed_at": t, "v": 0} for n, t in enumerate(times)]
        self.size = size

    def change(self, record_id: int, at: int) -> None:
        record = self.records[record_id]
        record.update(changed_at=at, v=record["v"] + 1)

    def add(self, at: int) -> int:
        self.records.append({"id": len(self.records), "changed_at": at, "v": 0})
        return len(self.records) - 1

    def __call__(self, request: httpx.Request) -> httpx.Response:
        since = int(request.url.params.get("since", 0))
        start = int(request.url.params.get("after", 0))
        matching = sorted(
            (r for r in self.records if r["changed_at"] >= since),
            key=lambda r: (r["changed_at"], r["id"]),
        )
        page = [dict(r) for r in matching[start : start + self.size]]
        more = start + self.size < len(matching)
        return httpx.Response(200, json={"items": page, "after": start + self.size, "more": more})


def changes_spec(lookback: int = 0, **watermark: Any) -> RestStream:
    return RestStream(
        PageRequest("changes"),
        records="items",
        paginator=TokenPaginator("after", param="after", has_more="more"),
        cursor=Watermark(
            "changed_at",
            initial=0,
            param="since",
            render=epoch_seconds,
            lookback=timedelta(seconds=lookback),
            **watermark,
        ),
    )


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


async def test_the_next_run_starts_a_lookback_before_the_highest_value_seen() -> None:
    vendor = ChangesVendor([100, 200, 300], size=2)
    recorder = Recorder(vendor)
    pages = await read_all(changes_spec(lookback=50), recorder)
    await read_all(changes_spec(lookback=50), recorder, roundtrip(pages[-1].state))

    assert recorder.params()[-1]["since"] == "250"


async def test_a_rerun_yields_nothing_when_nothing_changed() -> None:
    vendor = ChangesVendor([100, 100, 200, 200, 200], size=2)
    pages = await read_all(changes_spec(lookback=150), vendor)
    again = await read_all(changes_spec(lookback=150), vendor, roundtrip(pages[-1].state))

    assert ids(again) == []
    assert again[-1].state == pages[-1].state


async def test_a_boundary_record_that_changed_is_read_again() -> None:
    vendor = ChangesVendor([100, 200], size=5)
    pages = await read_all(changes_spec(), vendor)
    vendor.change(1, at=200)  # changed within the same second: same watermark value
    again = await read_all(changes_spec(), vendor, roundtrip(pages[-1].state))

    assert [(r["id"], r["v"]) for p in again for r in p.records] == [(1, 1)]


async def test_a_late_record_within_the_lookback_is_read() -> None:
    vendor = ChangesVendor([100, 200], size=5)
    pages = await read_all(changes_spec(lookback=60), vendor)
    late = vendor.add(at=150)  # arrived after the run, stamped before the watermark
    again = await read_all(changes_spec(lookback=60), vendor, roundtrip(pages[-1].state))

    assert ids(again) == [late]


async def test_the_upper_bound_is_now_minus_lag_and_later_records_wait() -> None:
    now = T0 + timedelta(seconds=1000)
    vendor = ChangesVendor([int(T0.timestamp()) + s for s in (100, 500, 950)], size=5)
    recorder = Recorder(vendor)
    spec = changes_spec(lag=timedelta(seconds=100), clock=lambda: now, end_param="until")
    pages = await read_all(spec, recorder)

    assert ids(pages) == [0, 1]  # the record 50 s old is inside the lag
    assert recorder.params()[0]["until"] == str(int(T0.timestamp()) + 900)
    now += timedelta(seconds=100)
    later = await read_all(spec, vendor, roundtrip(pages[-1].state))
    assert ids(later) == [2]


async def test_the_run_bounds_are_kept_when_resuming_mid_run() -> None:
    now = T0 + timedelta(seconds=1000)
    vendor = ChangesVendor([int(T0.timestamp()) + s for s in range(0, 900, 100)], size=2)
    recorder = Recorder(vendor)
    spec = changes_spec(lag=timedelta(seconds=0), clock=lambda: now, end_param="until")
    pages = await read_all(spec, recorder)
    now += timedelta(days=1)
    await read_all(spec, recorder, roundtrip(pages[0].state))

    assert {p["until"] for p in recorder.params()} == {str(int(T0.timestamp()) + 1000)}


@pytest.mark.parametrize(
    "stamp",
    [
        lambda t: t.isoformat().replace("+00:00", "Z"),
        lambda t: t.isoformat(),
        lambda t: t.timestamp(),
        lambda t: int(t.timestamp()),
    ],
    ids=["iso-z", "iso-offset", "epoch-float", "epoch-int"],
)
async def test_reads_times_written_as_iso_strings_or_epoch_numbers(stamp: Any) -> None:
    times = [T0 + timedelta(hours=h) for h in (1, 2, 2)]

    def vendor(request: httpx.Request) -> httpx.Response:
        since = datetime.fromisoformat(request.url.params["since"])
        items = [{"id": n, "at": stamp(t)} for n, t in enumerate(times) if t >= since]
        return httpx.Response(200, json={"items": items})

    spec = RestStream(
        PageRequest("items"),
        records="items",
        cursor=Watermark("at", initial=T0, param="since", lookback=timedelta(minutes=30)),
    )
    first = await read_all(spec, vendor)
    again = await read_all(spec, vendor, roundtrip(first[-1].state))

    assert ids(first) == [0, 1, 2]
    assert ids(again) == []
    assert first[-1].state["cursor"]["high"] == (T0 + timedelta(hours=2)).isoformat()


async def test_records_without_a_usable_time_are_yielded_and_do_not_move_it() -> None:
    def vendor(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"items": [{"id": 1, "at": "not a time"}, {"id": 2}]})

    spec = RestStream(PageRequest("items"), records="items", cursor=Watermark("at"))
    pages = await read_all(spec, vendor)

    assert ids(pages) == [1, 2]
    assert pages[-1].state["cursor"]["high"] is None


def test_rejects_an_initial_value_that_is_not_a_time() -> None:
    with pytest.raises(ValueError, match="initial"):
        Watermark("at", initial="yesterday")


async def test_a_malformed_watermark_state_names_the_field_and_how_to_start_over() -> None:
    vendor = ChangesVendor([1], size=1)
    pages = await read_all(changes_spec(), vendor)
    broken = roundtrip(pages[-1].state)
    broken["cursor"]["high"] = "not a time"

    with pytest.raises(StreamStateError, match=r"malformed at high.*--full-refresh"):
        await read_all(changes_spec(), vendor, broken)


# -- properties --------------------------------------------------------------------------

change_times = st.lists(st.integers(min_value=0, max_value=40), max_size=25)


@given(
    times=change_times,
    size=st.integers(min_value=1, max_value=6),
    lookback=st.integers(min_value=0, max_value=15),
    data=st.data(),
)
def test_resuming_from_any_page_boundary_yields_each_record_exactly_once(
    times: list[int], size: int, lookback: int, data: st.DataObject
) -> None:
    vendor = ChangesVendor(times, size=size)
    spec = changes_spec(lookback=lookback)
    pages = run(read_all(spec, vendor))
    boundary = data.draw(st.integers(min_value=0, max_value=len(pages) - 1))
    resumed = run(read_all(spec, vendor, roundtrip(pages[boundary].state)))

    read = ids(pages[: boundary + 1]) + ids(resumed)
    assert sorted(read) == list(range(len(times)))
    assert ids(resumed) == ids(pages[boundary + 1 :])


@given(
    times=change_times,
    size=st.integers(min_value=1, max_value=6),
    lookback=st.integers(min_value=0, max_value=15),
    changes=st.lists(st.tuples(st.integers(0, 30), st.integers(-15, 15)), max_size=6),
    data=st.data(),
)
def test_a_later_run_yields_exactly_the_records_changed_since(
    times: list[int],
    size: int,
    lookback: int,
    changes: list[tuple[int, int]],
    data: st.DataObject,
) -> None:
    """Whatever page the first run was interrupted after, and however the vendor changed
    since (new records, changes at or after the watermark, late ones within the lookback),
    the next runs yield each changed record once and nothing unchanged."""
    vendor = ChangesVendor(times, size=size)
    spec = changes_spec(lookback=lookback)
    pages = run(read_all(spec, vendor))
    boundary = data.draw(st.integers(min_value=0, max_value=len(pages) - 1))
    finished = run(read_all(spec, vendor, roundtrip(pages[boundary].state)))
    state = (finished or pages)[-1].state
    reach = max(0, max(times, default=0) - lookback)  # where the next run starts

    expected: set[int] = set()
    for which, offset in changes:
        at = max(times, default=0) + offset
        if which < len(vendor.records):
            at = max(at, vendor.records[which]["changed_at"])  # changes never go back in time
        if at < reach:  # before the lookback: out of the watermark's reach by design
            continue
        if which < len(vendor.records):
            vendor.change(which, at=at)
            expected.add(which)
        else:
            expected.add(vendor.add(at=at))
    later = run(read_all(spec, vendor, roundtrip(state)))

    assert sorted(ids(later)) == sorted(expected)


async def test_bounds_go_inside_a_query_language_when_the_stream_says_how() -> None:
    vendor = Recorder(ChangesVendor([10, 20, 30], size=10))
    spec = RestStream(
        PageRequest("changes", params={"q": "unbounded"}),
        records="items",
        cursor=Watermark(
            "changed_at",
            initial=20,
            param="since",
            end_param="until",
            render=epoch_seconds,
            lag=timedelta(0),
            clock=lambda: datetime.fromtimestamp(99, UTC),
        ),
        bounds_to_params=lambda b: {"q": f"changed_at >= {b['since']} AND < {b['until']}"},
    )
    await read_all(spec, vendor)
    assert vendor.params() == [{"q": "changed_at >= 20 AND < 99"}]


async def test_a_refused_stored_position_starts_a_run_from_the_overlap_when_it_expired() -> None:
    vendor = ChangesVendor([10, 20, 30, 40, 50, 60], size=2)
    expired = {"spent": False}

    def refusing_the_stored_token_once(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("after") == "2" and not expired["spent"]:
            expired["spent"] = True
            return httpx.Response(400, json={"code": "CURSOR_EXPIRED"})
        return vendor(request)

    spec = changes_spec(lookback=5, expired=lambda error: error.vendor_code == "CURSOR_EXPIRED")
    [first, *_] = await read_all(spec, vendor)
    recorder = Recorder(refusing_the_stored_token_once)
    pages = await read_all(spec, recorder, roundtrip(first.state))
    # Records 0 and 1 (times 10, 20) were committed: the new run starts 5 s before 20.
    assert ids(pages) == [2, 3, 4, 5]
    assert recorder.params()[1] == {"since": "15"}
    expired["spent"] = False
    never = changes_spec(lookback=5)  # without `expired` the refusal is the read's error
    with pytest.raises(VendorError):
        await read_all(never, Recorder(refusing_the_stored_token_once), roundtrip(first.state))
