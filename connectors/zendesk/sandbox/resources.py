"""The Zendesk sandbox's standard list and show endpoints, besides the incremental exports.

Every list answers in both of Zendesk's pagination styles (cursor with ``page[size]``, offset
otherwise; see https://developer.zendesk.com/api-reference/introduction/pagination/) through
:func:`list_page`, over positions that map to ids arithmetically, so a page costs the same at
a million tickets as at ten. Search and the metric-event export live here too.
"""

from __future__ import annotations

import bisect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from connectors.zendesk.sandbox.activity import METRIC_EVENTS, TicketActivity
from connectors.zendesk.sandbox.app import _base, _unix_time, _with_url
from connectors.zendesk.sandbox.catalog import Catalog
from connectors.zendesk.sandbox.paging import (
    IdSpace,
    ZendeskError,
    bad_parameter,
    decode_list_cursor,
    encode_list_cursor,
    int_param,
    list_page,
    url,
)
from connectors.zendesk.sandbox.records import (
    ADMIN_EVERY,
    AGENT_EVERY,
    ORG_ID_BASE,
    USER_ID_BASE,
    ticket_view,
)
from connectors.zendesk.sandbox.search import (
    RESULT_TYPES,
    Collection,
    Hit,
    invalid_search,
    parse_query,
    scan,
)
from connectors.zendesk.sandbox.state import ZendeskState

Handler = Callable[[Request], Awaitable[Response]]
EXPORT_PAGE_MAX = 1000  # time-based incremental exports return up to 1,000 items a page
SEARCH_PAGE_MAX = 100
SEARCH_RESULTS_MAX = 1000  # search.json stops at 1,000 results; the export has no such limit
SEARCH_EXPORT_PAGE_MAX = 1000
ROLES = ("end-user", "agent", "admin")
TALK_REFUSED = "Access to this resource is restricted. Please contact the account administrator for assistance."  # noqa: E501 (matched verbatim by clients)


@dataclass(frozen=True)
class Table:
    """A small configuration collection: its list key, its show key, its URL path, its rows."""

    key: str
    singular: str
    path: str
    rows: list[dict[str, Any]]


class ZendeskResources:
    """Handlers for users, organizations, configuration tables, ticket activity and search."""

    def __init__(self, state: ZendeskState) -> None:
        self.state = state
        self.data = state.records
        self.catalog = Catalog(self.data)
        self.activity = TicketActivity(self.data)
        catalog = self.catalog
        self.tables = {
            table.path: table
            for table in (
                Table("groups", "group", "groups", catalog.groups),
                Table("ticket_fields", "ticket_field", "ticket_fields", catalog.ticket_fields),
                Table("ticket_forms", "ticket_form", "ticket_forms", catalog.ticket_forms),
                Table("user_fields", "user_field", "user_fields", catalog.user_fields),
                Table("organization_fields", "organization_field", "organization_fields",
                      catalog.organization_fields),
                Table("macros", "macro", "macros", catalog.macros),
                Table("sla_policies", "sla_policy", "slas/policies", catalog.sla_policies),
            )
        }  # fmt: skip

    # -- users and organizations ------------------------------------------------------------

    async def list_users(self, request: Request) -> Response:
        """``GET /api/v2/users``, optionally narrowed by ``role`` (end-user, agent, admin)."""
        state, base = self.state, _base(request)
        role = request.query_params.get("role")
        if role is not None and role not in ROLES:
            raise bad_parameter(f"role must be one of {', '.join(ROLES)}")

        def accept(user_id: int) -> bool:
            return role is None or self._role(user_id) == role

        def render(user_id: int) -> dict[str, Any]:
            user = state.user(user_id)
            assert user is not None
            return _with_url(user, base, "users")

        space = IdSpace(USER_ID_BASE, state.next_user_id, accept, render, lambda: self._users(role))
        return self._page(request, space, "users", "/api/v2/users.json")

    def _role(self, user_id: int) -> str:
        index = self.data.user_index(user_id)
        if index is None:
            return "end-user"  # created at runtime; the API creates end-users
        if index % ADMIN_EVERY == 0:
            return "admin"
        return "agent" if index % AGENT_EVERY == 0 else "end-user"

    def _users(self, role: str | None) -> int:
        generated = self.data.users_n
        created = self.state.next_user_id - USER_ID_BASE - generated
        admins = (generated - 1) // ADMIN_EVERY + 1
        agents = (generated - 1) // AGENT_EVERY + 1 - admins
        counts = {"admin": admins, "agent": agents, "end-user": generated - admins - agents}
        return (
            generated + created if role is None else counts[role] + created * (role == "end-user")
        )

    async def list_organizations(self, request: Request) -> Response:
        base, data = _base(request), self.data
        space = IdSpace(
            0,
            data.orgs_n,
            lambda _: True,
            lambda index: _with_url(data.organization(index), base, "organizations"),
            lambda: data.orgs_n,
        )
        return self._page(request, space, "organizations", "/api/v2/organizations.json")

    async def show_organization(self, request: Request) -> Response:
        index = request.path_params["record_id"] - ORG_ID_BASE
        if not 0 <= index < self.data.orgs_n:
            raise not_found()
        organization = self.data.organization(index)
        return JSONResponse(
            {"organization": _with_url(organization, _base(request), "organizations")}
        )

    # -- configuration tables ----------------------------------------------------------------

    def list_table(self, path: str) -> Handler:
        """``GET /api/v2/{path}`` for one of the configuration tables."""
        table = self.tables[path]

        async def endpoint(request: Request) -> Response:
            base = _base(request)
            space = IdSpace(
                0,
                len(table.rows),
                lambda _: True,
                lambda p: _with_url(table.rows[p], base, table.path),
                lambda: len(table.rows),
            )
            return self._page(request, space, table.key, f"/api/v2/{table.path}.json")

        return endpoint

    def show_table(self, path: str) -> Handler:
        """``GET /api/v2/{path}/{id}`` for one of the configuration tables."""
        table = self.tables[path]
        by_id = {int(row["id"]): row for row in table.rows}

        async def endpoint(request: Request) -> Response:
            row = by_id.get(request.path_params["record_id"])
            if row is None:
                raise not_found()
            return JSONResponse({table.singular: _with_url(row, _base(request), table.path)})

        return endpoint

    async def list_tags(self, request: Request) -> Response:
        tags = self.catalog.tags
        space = IdSpace(0, len(tags), lambda _: True, lambda p: dict(tags[p]), lambda: len(tags))
        return self._page(request, space, "tags", "/api/v2/tags.json")

    async def list_group_memberships(self, request: Request) -> Response:
        base, catalog = _base(request), self.catalog
        space = IdSpace(
            0,
            catalog.membership_count(),
            lambda _: True,
            lambda p: _with_url(catalog.membership(p), base, "group_memberships"),
            catalog.membership_count,
        )
        return self._page(request, space, "group_memberships", "/api/v2/group_memberships.json")

    async def show_group_membership(self, request: Request) -> Response:
        position = self.catalog.membership_position(request.path_params["record_id"])
        if position is None:
            raise not_found()
        membership = self.catalog.membership(position)
        return JSONResponse(
            {"group_membership": _with_url(membership, _base(request), "group_memberships")}
        )

    # -- a ticket's comments and audits -------------------------------------------------------

    def _live_ticket(self, ticket_id: int) -> dict[str, Any]:
        ticket = self.state.ticket(ticket_id)
        if ticket is None or ticket.get("status") == "deleted":
            raise not_found()
        return ticket

    async def list_comments(self, request: Request) -> Response:
        ticket = self._live_ticket(request.path_params["ticket_id"])
        count = self.activity.comment_count(ticket)
        space = IdSpace(
            0, count, lambda _: True, lambda n: self.activity.comment(ticket, n), lambda: count
        )
        return self._page(
            request, space, "comments", f"/api/v2/tickets/{ticket['id']}/comments.json"
        )

    async def list_audits(self, request: Request) -> Response:
        ticket = self._live_ticket(request.path_params["ticket_id"])
        count = self.activity.comment_count(ticket)
        space = IdSpace(
            0, count, lambda _: True, lambda n: self.activity.audit(ticket, n), lambda: count
        )
        return self._page(request, space, "audits", f"/api/v2/tickets/{ticket['id']}/audits.json")

    async def show_audit(self, request: Request) -> Response:
        ticket = self._live_ticket(request.path_params["ticket_id"])
        for number in range(self.activity.comment_count(ticket)):
            audit = self.activity.audit(ticket, number)
            if audit["id"] == request.path_params["record_id"]:
                return JSONResponse({"audit": audit})
        raise not_found()

    # -- ticket metric events -----------------------------------------------------------------

    async def export_metric_events(self, request: Request) -> Response:
        """``GET /api/v2/incremental/ticket_metric_events``: time-based, or cursor-paged when
        ``page[size]`` is given (the reference allows both)."""
        params, activity = request.query_params, self.activity
        if not params.get("start_time"):
            raise bad_parameter("start_time is required")
        start_time = _unix_time(params["start_time"])
        data = self.data
        first_ticket = bisect.bisect_left(range(data.tickets_n), start_time, key=data.ticket_ts)
        low, high = first_ticket * len(METRIC_EVENTS), activity.metric_event_count()
        path, base = "/api/v2/incremental/ticket_metric_events.json", _base(request)
        space = IdSpace(low, high, lambda _: True, activity.metric_event, lambda: high - low)
        if "page[size]" in params or "page[after]" in params:
            return JSONResponse(
                list_page(space, key="ticket_metric_events", base=base, path=path, params=params)
            )
        per_page = int_param(
            params, "per_page", default=EXPORT_PAGE_MAX, low=1, high=EXPORT_PAGE_MAX
        )
        positions = range(low, min(low + per_page, high))
        end_time = activity.metric_event_time(positions[-1]) if positions else start_time
        keep = {k: v for k, v in params.items() if k != "start_time"}
        return JSONResponse(
            {
                "ticket_metric_events": [activity.metric_event(p) for p in positions],
                "count": len(positions),
                "end_of_stream": positions.stop >= high,
                "end_time": end_time,
                "next_page": url(base, path, {**keep, "start_time": end_time}),
            }
        )

    # -- search --------------------------------------------------------------------------------

    def _collections(self, types: tuple[str, ...], base: str) -> list[Collection]:
        state, data, groups = self.state, self.data, self.catalog.groups

        def ticket(ticket_id: int) -> dict[str, Any] | None:
            found = state.ticket(ticket_id)
            if found is None or found.get("status") == "deleted":
                return None  # search never returns deleted tickets
            return _with_url(ticket_view(found), base, "tickets")

        def user(user_id: int) -> dict[str, Any] | None:
            found = state.user(user_id)
            return None if found is None else _with_url(found, base, "users")

        readers = {
            "ticket": Collection("ticket", 1, state.next_ticket_id, ticket),
            "user": Collection("user", USER_ID_BASE, state.next_user_id, user),
            "organization": Collection(
                "organization", 0, data.orgs_n,
                lambda i: _with_url(data.organization(i), base, "organizations"),
            ),
            "group": Collection(
                "group", 0, len(groups), lambda i: _with_url(groups[i], base, "groups")
            ),
        }  # fmt: skip
        return [readers[t] for t in RESULT_TYPES if t in types]

    async def search(self, request: Request) -> Response:
        """``GET /api/v2/search``: offset pages of at most 100, and no further than 1,000."""
        params, base = request.query_params, _base(request)
        query = parse_query(_query_param(params))
        number = int_param(params, "page", default=1, low=1, high=1_000_000)
        per_page = int_param(
            params, "per_page", default=SEARCH_PAGE_MAX, low=1, high=SEARCH_PAGE_MAX
        )
        if number * per_page > SEARCH_RESULTS_MAX:
            raise ZendeskError(
                422, "invalid",
                "Invalid search: Requested response size was greater than Search Response Limits",
            )  # fmt: skip
        found = scan(query, self._collections(query.types, base))
        hits = found.hits[(number - 1) * per_page : number * per_page]
        keep = {k: v for k, v in params.items() if k not in ("page", "per_page")}
        more = len(found.hits) > number * per_page and number * per_page < SEARCH_RESULTS_MAX
        path = "/api/v2/search.json"
        return JSONResponse(
            {
                "results": [_result(hit) for hit in hits],
                "facets": None,
                "next_page": url(base, path, {**keep, "page": number + 1, "per_page": per_page})
                if more
                else None,
                "previous_page": url(base, path, {**keep, "page": number - 1, "per_page": per_page})
                if number > 1
                else None,
                "count": found.estimated_total,
            }
        )

    async def search_count(self, request: Request) -> Response:
        query = parse_query(_query_param(request.query_params))
        found = scan(query, self._collections(query.types, _base(request)))
        return JSONResponse({"count": found.estimated_total})

    async def search_export(self, request: Request) -> Response:
        """``GET /api/v2/search/export``: one type from ``filter[type]``, cursor pages only."""
        params, base = request.query_params, _base(request)
        result_type = params.get("filter[type]")
        if result_type not in RESULT_TYPES:
            raise invalid_search(f"filter[type] must be one of {', '.join(RESULT_TYPES)}")
        query = parse_query(_query_param(params))
        # The reference calls type: in an export query an error, yet zenpy's search_export
        # sends type: alongside filter[type]; only a contradiction is refused here.
        if query.types not in (RESULT_TYPES, (result_type,)):
            raise invalid_search("type: in the query contradicts filter[type]")
        size = int_param(params, "page[size]", default=100, low=1, high=SEARCH_EXPORT_PAGE_MAX)
        after = params.get("page[after]")
        start = decode_list_cursor(after) if after else None
        (collection,) = self._collections((result_type,), base)
        found = scan(query, [collection], start=start, want=size)
        has_more = not found.finished
        after_cursor = encode_list_cursor(found.next_position) if has_more else None
        keep = {k: v for k, v in params.items() if k != "page[after]"}
        next_url = url(base, "/api/v2/search/export.json", {**keep, "page[after]": after_cursor})
        return JSONResponse(
            {
                "results": [_result(hit) for hit in found.hits],
                "facets": None,
                "meta": {"has_more": has_more, "after_cursor": after_cursor, "before_cursor": None},
                "links": {"next": next_url if has_more else None, "prev": None},
            }
        )

    # -- add-ons the sandbox account does not have ---------------------------------------------

    @staticmethod
    async def talk_not_provisioned(request: Request) -> Response:
        """Zendesk Talk (``/api/v2/channels/voice/...``) is a paid add-on this account lacks."""
        # [uncertain] The body is the one tap-zendesk matches to drop a plan-gated stream.
        return JSONResponse(
            {"error": {"title": "Forbidden", "message": TALK_REFUSED}}, status_code=403
        )

    # -- helpers ---------------------------------------------------------------------------------

    @staticmethod
    def _page(request: Request, space: IdSpace, key: str, path: str) -> Response:
        return JSONResponse(
            list_page(space, key=key, base=_base(request), path=path, params=request.query_params)
        )


def _result(hit: Hit) -> dict[str, Any]:
    return {**hit.record, "result_type": hit.result_type}


def _query_param(params: Any) -> str:
    query = params.get("query")
    if query is None:
        raise invalid_search("the query parameter is required")
    return str(query)


def not_found() -> ZendeskError:
    return ZendeskError(404, "RecordNotFound", "Not found")
