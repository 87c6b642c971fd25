"""The outbox as a plugin uses it: a message enqueued inside a sync's page transaction
commits with the records that cause it, or not at all (engine-level, memory connector)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.connector import OutboundMessage
from hub.errors import StoreError
from hub.plugins import hookimpl, register_plugin, unregister_plugin
from hub.runtime import Hub
from hub.services import outbox
from hub.sync import PageWrite, sync_connection
from hub.testing import MemorySource


class CaseUpdateTexts:
    """Texts the customer when one of their cases is written: the message is keyed by the
    case and its content hash, so a case re-read unchanged never texts twice."""

    def __init__(self, *, fail_after_enqueue: bool = False) -> None:
        self.fail_after_enqueue = fail_after_enqueue
        self.enqueued = 0

    @hookimpl
    def hub_page_transaction(self, hub: Hub, conn: AsyncConnection, write: PageWrite) -> object:
        async def enqueue_texts() -> None:
            for row in write.rows:
                if row.kind == "case":
                    await outbox.enqueue(
                        conn, hub.keyring, connection="sms",
                        key=f"case-updated/{row.external_id}/{row.content_hash[:16]}",
                        message=OutboundMessage(to="+15005550006", body="Your case was updated."),
                        now=write.now,
                    )  # fmt: skip
                    self.enqueued += 1
            if self.fail_after_enqueue:
                raise StoreError("the page's commit failed (injected)")

        return enqueue_texts()


@pytest.fixture
def texts() -> Iterator[CaseUpdateTexts]:
    plugin = CaseUpdateTexts()
    register_plugin(plugin)
    yield plugin
    unregister_plugin(plugin)


async def test_a_text_enqueued_in_the_page_transaction_commits_with_its_case(
    hub: Hub, memory: MemorySource, texts: CaseUpdateTexts
) -> None:
    [result] = await sync_connection(hub, "mem", streams=["cases"])
    written = result.counters.records_written
    assert written > 0 and len(await outbox.list_entries(hub, "sms", limit=500)) == written

    await sync_connection(hub, "mem", streams=["cases"], full_refresh=True)  # nothing changed
    assert len(await outbox.list_entries(hub, "sms", limit=500)) == written


async def test_a_page_that_fails_to_commit_leaves_no_text_behind(
    hub: Hub, memory: MemorySource, texts: CaseUpdateTexts
) -> None:
    texts.fail_after_enqueue = True
    [result] = await sync_connection(hub, "mem", streams=["cases"], raise_errors=False)
    assert result.status == "failed" and texts.enqueued > 0  # enqueued, then rolled back
    assert await outbox.list_entries(hub, "sms") == []
