"""The resume-token cursor (continue from the vendor's token, fall back to the watermark when
it expired) and full refresh."""

from __future__ import annotations

import httpx
import pytest

from hub.errors import ConnectorError, VendorError
from hub.paging import (
    FullRefresh,
    PageRequest,
    RestStream,
    ResumeToken,
    TokenPaginator,
    Watermark,
    epoch_seconds,
)
from tests.hub.paging.support import Recorder, ids, read_all, roundtrip

EXPORT = TokenPaginator("cursor", param="cursor", end="end", replaces=("since",))


def gone(error: ConnectorError) -> bool:
    return error.status == 410 and error.vendor_code == "CursorExpired"


def export_spec() -> RestStream:
    return RestStream(
        PageRequest("export"),
        records="items",
        paginator=EXPORT,
        cursor=ResumeToken(
            Watermark("at", initial=1000, param="since", render=epoch_seconds), expired=gone
        ),
    )


class Export:
    """An export endpoint: ``since`` (epoch) or ``cursor`` (an index), tokens valid only
    while ``valid`` holds them."""

    def __init__(self, times: list[int]) -> None:
        self.items = [{"id": n, "at": t} for n, t in enumerate(times)]
        self.valid: set[str] = set()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        cursor = request.url.params.get("cursor")
        if cursor is not None and cursor not in self.valid:
            return httpx.Response(410, json={"error": "CursorExpired"})
        if cursor is not None:
            start = int(cursor)
        else:
            since = int(request.url.params["since"])
            start = next((i for i, r in enumerate(self.items) if r["at"] >= since), len(self.items))
        page = self.items[start : start + 2]
        after = str(start + len(page))
        self.valid.add(after)
        return httpx.Response(
            200, json={"items": page, "cursor": after, "end": start + 2 >= len(self.items)}
        )


async def test_the_next_run_continues_from_the_last_token_without_the_watermark() -> None:
    export = Export([1000, 1001, 1002])
    recorder = Recorder(export)
    pages = await read_all(export_spec(), recorder)
    export.items.append({"id": 3, "at": 1003})
    later = await read_all(export_spec(), recorder, roundtrip(pages[-1].state))

    assert ids(later) == [3]
    assert recorder.params()[len(pages)] == {"cursor": "3"}


async def test_an_expired_token_falls_back_to_the_watermark_without_repeating_records() -> None:
    export = Export([1000, 1001, 1002, 1003])
    recorder = Recorder(export)
    pages = await read_all(export_spec(), recorder)
    export.valid.clear()  # the vendor forgot every cursor
    export.items.append({"id": 4, "at": 1004})
    later = await read_all(export_spec(), recorder, roundtrip(pages[-1].state))

    assert ids(later) == [4]  # 3 came again from the watermark and was absorbed
    assert recorder.params()[len(pages) :][:2] == [{"cursor": "4"}, {"since": "1003"}]


async def test_an_expired_token_mid_run_falls_back_too() -> None:
    export = Export([1000, 1001, 1002, 1003, 1004])
    pages = await read_all(export_spec(), export)
    export.valid.clear()
    resumed = await read_all(export_spec(), export, roundtrip(pages[0].state))

    assert sorted(set(ids(pages[:1]) + ids(resumed))) == [0, 1, 2, 3, 4]
    assert set(ids(pages[:1])).isdisjoint(ids(resumed[1:]))


async def test_another_error_on_a_stored_token_is_raised() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": "Malformed"})

    state = export_spec().cursor.begin(None, resuming=False).finish("7")
    with pytest.raises(VendorError, match="400"):
        await read_all(export_spec(), refuse, {"version": 1, "next": None, "cursor": state})


async def test_full_refresh_reads_everything_every_run_and_resumes_mid_run() -> None:
    export = Export([1, 2, 3, 4, 5])
    spec = RestStream(
        PageRequest("export", params={"since": 0}), records="items", paginator=EXPORT,
        cursor=FullRefresh(),
    )  # fmt: skip
    pages = await read_all(spec, export)
    again = await read_all(spec, export, roundtrip(pages[-1].state))
    resumed = await read_all(spec, export, roundtrip(pages[0].state))

    assert ids(again) == ids(pages) == [0, 1, 2, 3, 4]
    assert ids(resumed) == [2, 3, 4]
