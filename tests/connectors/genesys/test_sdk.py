"""The official Genesys Cloud Python SDK (PureCloudPlatformClientV2), unmodified, reads the
sandbox: client-credentials login, users, queues, external contacts, a details query and a
details job. The SDK is synchronous (urllib3), so its calls run in a thread while the
sandbox serves on the test's event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors.genesys.connector import interval
from tests.connectors.genesys.conftest import Served

gc: Any = pytest.importorskip("PureCloudPlatformClientV2")
Serve = Callable[..., AbstractAsyncContextManager[Served]]
pytestmark = pytest.mark.usefixtures("sdk_home")


@pytest.fixture
def sdk_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No stray ~/.genesyscloudpython/config may point the SDK elsewhere."""
    monkeypatch.setenv("HOME", str(tmp_path))


def _login(app: Any, base_url: str) -> Any:
    client = gc.api_client.ApiClient(host=base_url)
    credentials = app.credentials
    return client.get_client_credentials_token(
        credentials["client_id"], credentials["client_secret"]
    )


async def test_the_sdk_lists_users_queues_and_external_contacts(serve_genesys: Serve) -> None:
    async with serve_genesys(records=40) as (app, running):

        def read() -> tuple[Any, Any, Any]:
            client = _login(app, running.base_url)
            users = gc.UsersApi(client).get_users(page_size=3, page_number=2)
            queues = gc.RoutingApi(client).get_routing_queues(page_size=100)
            contacts = gc.ExternalContactsApi(client).get_externalcontacts_contacts(page_size=5)
            return users, queues, contacts

        users, queues, contacts = await asyncio.to_thread(read)
    assert (users.page_number, users.page_size, users.total) == (2, 3, app.records.sizes.users)
    assert [u.id for u in users.entities] == [app.records.user(i)["id"] for i in (3,)]
    assert [q.name for q in queues.entities] == [q["name"] for q in app.records.queues]
    assert contacts.total == app.records.sizes.contacts and len(contacts.entities) == 5
    assert contacts.entities[0].first_name == app.records.contact(0)["firstName"]


async def test_the_sdk_runs_a_details_query_and_a_details_job(serve_genesys: Serve) -> None:
    async with serve_genesys(records=40) as (app, running):
        now = datetime.fromtimestamp(app.server_time(), UTC)
        span = interval(now - timedelta(days=60), now)

        def query() -> tuple[Any, Any, list[Any]]:
            analytics = gc.AnalyticsApi(_login(app, running.base_url))
            body = gc.ConversationQuery()
            body.interval = span
            body.order = "asc"
            body.paging = gc.PagingSpec()
            body.paging.page_size, body.paging.page_number = 25, 2
            page = analytics.post_analytics_conversations_details_query(body)
            job_query = gc.AsyncConversationQuery()
            job_query.interval = span
            job = analytics.post_analytics_conversations_details_jobs(job_query)
            states = [analytics.get_analytics_conversations_details_job(job.job_id).state
                      for _ in range(2)]  # fmt: skip
            results = analytics.get_analytics_conversations_details_job_results(
                job.job_id, page_size=30
            )
            following = analytics.get_analytics_conversations_details_job_results(
                job.job_id, cursor=results.cursor, page_size=30
            )
            return page, states, [*results.conversations, *following.conversations]

        page, states, exported = await asyncio.to_thread(query)
    assert page.total_hits == 40 and len(page.conversations) == 15
    first = page.conversations[0]
    assert first.conversation_id == app.records.conversation(25)["conversationId"]
    media = {s.media_type for p in first.participants for s in p.sessions}
    assert media <= {"voice", "callback", "chat", "message", "email"}
    assert states == ["PENDING", "FULFILLED"]
    assert len(exported) == 40
    assert exported[0].conversation_start is not None
