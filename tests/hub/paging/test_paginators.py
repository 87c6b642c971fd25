"""Each paginator walks a fake vendor to its end, resumes from any page's state, and stops
with a PaginationLoop when the vendor sends a page position again."""

from __future__ import annotations

import httpx
import pytest

from hub.errors import VendorError
from hub.paging import (
    NextUrlPaginator,
    OffsetPaginator,
    PageNumberPaginator,
    PageRequest,
    PaginationLoop,
    RestStream,
    SinglePage,
    TokenPaginator,
)
from tests.hub.paging.support import BASE, PagingConnector, Recorder, ids, read_all, roundtrip

ITEMS = [{"id": n} for n in range(1, 11)]


def spec(paginator: object, **request: object) -> RestStream:
    return RestStream(PageRequest("items", **request), records="items", paginator=paginator)  # type: ignore[arg-type]


# -- next URL ----------------------------------------------------------------------------


def next_url_vendor(request: httpx.Request) -> httpx.Response:
    start = int(request.url.params.get("from", 0))
    page = ITEMS[start : start + 3]
    following = f"{BASE}items?from={start + 3}" if start + 3 < len(ITEMS) else None
    return httpx.Response(200, json={"items": page, "links": {"next": following}})


async def test_next_url_paginator_follows_links_next_to_the_end() -> None:
    pages = await read_all(spec(NextUrlPaginator("links.next")), next_url_vendor)

    assert ids(pages) == list(range(1, 11))
    assert [p.state["next"] for p in pages] == [
        "items?from=3",
        "items?from=6",
        "items?from=9",
        None,
    ]


async def test_next_url_paginator_resumes_from_a_stored_link() -> None:
    pages = await read_all(spec(NextUrlPaginator("links.next")), next_url_vendor)
    resumed = await read_all(
        spec(NextUrlPaginator("links.next")), next_url_vendor, roundtrip(pages[1].state)
    )

    assert ids(resumed) == ids(pages[2:])


async def test_next_url_paginator_reads_the_link_header() -> None:
    def vendor(request: httpx.Request) -> httpx.Response:
        start = int(request.url.params.get("from", 0))
        headers = {}
        if start + 3 < len(ITEMS):
            headers["Link"] = f'</api/items?from={start + 3}>; rel="next"'
        return httpx.Response(200, json={"items": ITEMS[start : start + 3]}, headers=headers)

    pages = await read_all(spec(NextUrlPaginator(None)), vendor)

    assert ids(pages) == list(range(1, 11))


async def test_next_url_paginator_refuses_a_link_to_another_host() -> None:
    def vendor(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={"items": ITEMS[:1], "next": "https://elsewhere.example.test/api/items"}
        )

    with pytest.raises(VendorError, match="another host"):
        await read_all(spec(NextUrlPaginator("next")), vendor)


PRODUCT = "https://product.example.test"


def product_vendor(request: httpx.Request) -> httpx.Response:
    """A product API on a host of its own, paging by absolute URLs on that host."""
    assert request.url.host == "product.example.test"
    start = int(request.url.params.get("from", 0))
    following = f"{PRODUCT}/v1/items?from={start + 4}" if start + 4 < len(ITEMS) else None
    return httpx.Response(200, json={"items": ITEMS[start : start + 4], "next": following})


async def test_next_url_paginator_with_an_origin_pages_a_product_api_on_its_own_host() -> None:
    declared = RestStream(
        PageRequest(f"{PRODUCT}/v1/items"),
        records="items",
        paginator=NextUrlPaginator("next", origin=PRODUCT),
    )
    pages = await read_all(declared, product_vendor)

    assert ids(pages) == list(range(1, 11))
    assert pages[0].state["next"] == "v1/items?from=4"  # kept relative to the origin


async def test_next_url_paginator_with_an_origin_refuses_a_link_off_it() -> None:
    def vendor(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"items": ITEMS[:1], "next": f"{BASE}items?from=1"})

    declared = RestStream(
        PageRequest(f"{PRODUCT}/v1/items"),
        records="items",
        paginator=NextUrlPaginator("next", origin=PRODUCT),
    )
    with pytest.raises(VendorError, match="another host"):
        await read_all(declared, vendor)


async def test_next_url_paginator_raises_when_the_same_link_comes_back() -> None:
    def vendor(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"items": ITEMS[:2], "next": f"{BASE}items?page=2"})

    with pytest.raises(PaginationLoop, match=r"did not move past next URL items\?page=2") as caught:
        await read_all(spec(NextUrlPaginator("next")), vendor)

    assert (caught.value.connection, caught.value.stream) == ("conn", "items")
    assert caught.value.cursor == "next URL items?page=2"


# -- token parameter ---------------------------------------------------------------------


def token_vendor(request: httpx.Request) -> httpx.Response:
    start = int(request.url.params.get("after", "t0")[1:])
    page = ITEMS[start : start + 4]
    more = start + 4 < len(ITEMS)
    return httpx.Response(
        200, json={"items": page, "meta": {"has_more": more, "after": f"t{start + 4}"}}
    )


async def test_token_paginator_sends_the_token_until_has_more_is_false() -> None:
    recorder = Recorder(token_vendor)
    paginator = TokenPaginator("meta.after", param="after", has_more="meta.has_more")
    pages = await read_all(spec(paginator, params={"size": 4}), recorder)

    assert ids(pages) == list(range(1, 11))
    assert recorder.params() == [
        {"size": "4"},
        {"size": "4", "after": "t4"},
        {"size": "4", "after": "t8"},
    ]


async def test_token_paginator_replaces_the_parameters_the_token_stands_for() -> None:
    recorder = Recorder(token_vendor)
    paginator = TokenPaginator(
        "meta.after", param="after", has_more="meta.has_more", replaces=("since",)
    )
    await read_all(spec(paginator, params={"since": 5}), recorder)

    assert [p.get("since") for p in recorder.params()] == ["5", None, None]


async def test_token_paginator_stops_at_the_end_flag_and_keeps_the_token_to_resume() -> None:
    def vendor(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"items": ITEMS[:1], "cursor": "c9", "done": True})

    paginator = TokenPaginator("cursor", param="cursor", end="done")
    pages = await read_all(spec(paginator), vendor)

    assert len(pages) == 1
    assert pages[0].state["next"] is None


async def test_token_paginator_raises_when_the_same_token_comes_back() -> None:
    def vendor(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={"items": ITEMS[:1], "meta": {"has_more": True, "after": "t1"}}
        )

    paginator = TokenPaginator("meta.after", param="after", has_more="meta.has_more")
    with pytest.raises(PaginationLoop, match="did not move past after t1"):
        await read_all(spec(paginator), vendor)


async def test_a_page_pointing_back_to_an_earlier_token_is_never_yielded() -> None:
    following = {None: "t1", "t1": "t2", "t2": "t1"}
    items = {None: ITEMS[:1], "t1": ITEMS[1:2], "t2": ITEMS[2:3]}

    def vendor(request: httpx.Request) -> httpx.Response:
        at = request.url.params.get("after")
        return httpx.Response(200, json={"items": items[at], "meta": {"after": following[at]}})

    stored: list[object] = []
    with pytest.raises(PaginationLoop, match="did not move past after t1") as caught:
        async with PagingConnector(vendor, spec(TokenPaginator("meta.after", "after"))) as conn:
            async for page in conn.read("items", None):
                stored.append(page.state["next"])

    assert stored == ["t1", "t2"]  # the third page's state, pointing back, never reached a store
    assert (caught.value.stream, caught.value.cursor) == ("items", "after t1")


# -- page number -------------------------------------------------------------------------


def numbered_vendor(request: httpx.Request) -> httpx.Response:
    number, size = int(request.url.params["page"]), int(request.url.params["per_page"])
    page = ITEMS[(number - 1) * size : number * size]
    return httpx.Response(200, json={"items": page, "count": len(ITEMS)})


async def test_page_number_paginator_stops_at_the_total_count() -> None:
    recorder = Recorder(numbered_vendor)
    paginator = PageNumberPaginator(size=5, size_param="per_page", total_records="count")
    pages = await read_all(spec(paginator), recorder)

    assert ids(pages) == list(range(1, 11))
    assert len(recorder.requests) == 2  # no third request for an empty page


async def test_page_number_paginator_stops_on_a_short_page() -> None:
    paginator = PageNumberPaginator(size=4, size_param="per_page")
    pages = await read_all(spec(paginator), numbered_vendor)

    assert ids(pages) == list(range(1, 11))
    assert [p.state["next"] for p in pages] == [2, 3, None]


async def test_page_number_paginator_raises_when_the_vendor_ignores_the_page() -> None:
    def vendor(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"items": ITEMS[:5]})

    with pytest.raises(PaginationLoop, match="did not move past page 2"):
        await read_all(spec(PageNumberPaginator(size=5, size_param="per_page")), vendor)


# -- offset ------------------------------------------------------------------------------


def offset_vendor(request: httpx.Request) -> httpx.Response:
    offset, limit = int(request.url.params["offset"]), int(request.url.params["limit"])
    return httpx.Response(200, json={"items": ITEMS[offset : offset + limit], "total": len(ITEMS)})


async def test_offset_paginator_walks_to_the_total_and_resumes_at_an_offset() -> None:
    paginator = OffsetPaginator(limit=3, total="total")
    pages = await read_all(spec(paginator), offset_vendor)
    resumed = await read_all(spec(paginator), offset_vendor, roundtrip(pages[0].state))

    assert ids(pages) == list(range(1, 11))
    assert ids(resumed) == list(range(4, 11))


async def test_offset_paginator_raises_when_the_vendor_ignores_the_offset() -> None:
    def vendor(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"items": ITEMS[:3]})

    with pytest.raises(PaginationLoop, match="did not move past offset 3"):
        await read_all(spec(OffsetPaginator(limit=3)), vendor)


# -- answers that are not pages ----------------------------------------------------------


async def test_a_body_that_is_not_an_object_is_a_vendor_error() -> None:
    def vendor(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[1, 2])

    with pytest.raises(VendorError, match="something other than a JSON object"):
        await read_all(spec(SinglePage()), vendor)


async def test_records_that_are_not_a_list_are_a_vendor_error() -> None:
    def vendor(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"items": {"id": 1}})

    with pytest.raises(VendorError, match="not a list"):
        await read_all(spec(SinglePage()), vendor)


async def test_a_response_check_rejects_a_page_with_its_reason() -> None:
    def vendor(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"items": [], "partial": True})

    def check(response: httpx.Response, body: object) -> str | None:
        return (
            "the vendor marked it partial"
            if isinstance(body, dict) and body.get("partial")
            else None
        )

    declared = RestStream(PageRequest("items"), records="items", check=check)
    with pytest.raises(VendorError, match="marked it partial"):
        await read_all(declared, vendor)


# -- new positions, same content -----------------------------------------------------------


async def test_next_url_paginator_raises_when_new_links_bring_the_same_records() -> None:
    recorder = Recorder(
        lambda request: httpx.Response(
            200,
            json={"items": ITEMS[:3], "links": {"next": f"{BASE}items?n={len(recorder.requests)}"}},
        )
    )
    with pytest.raises(
        PaginationLoop, match=r"did not move past next URL items\?n=1: .* same records"
    ) as caught:
        await read_all(spec(NextUrlPaginator("links.next")), recorder)

    assert len(recorder.requests) == 2
    assert caught.value.stream == "items"


async def test_a_few_empty_pages_and_pages_that_overlap_are_read_to_the_end() -> None:
    # Four empty pages, then pages overlapping by one record: a vendor's quirks, not a loop.
    pages_by_token = [[], [], [], [], ITEMS[0:4], ITEMS[3:7], ITEMS[6:10]]

    def vendor(request: httpx.Request) -> httpx.Response:
        at = int(request.url.params.get("after", "0"))
        more = at + 1 < len(pages_by_token)
        meta = {"has_more": more, "after": str(at + 1)}
        return httpx.Response(200, json={"items": pages_by_token[at], "meta": meta})

    paginator = TokenPaginator("meta.after", param="after", has_more="meta.has_more")
    pages = await read_all(spec(paginator), vendor)

    assert ids(pages) == [1, 2, 3, 4, 4, 5, 6, 7, 7, 8, 9, 10]
