"""The Zendesk connector passes the connector contract against its sandbox."""

from __future__ import annotations

from hub.testing.contract import ConnectorContract


class TestZendeskContract(ConnectorContract):
    connector = "zendesk"
    sandbox_options = {"records": 60, "seed": 3, "relaxed_limits": True}
