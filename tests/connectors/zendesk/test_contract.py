"""The Zendesk connector passes the connector contract against its sandbox."""

from __future__ import annotations

from typing import Any

import pytest

from hub.testing.contract import ConnectorContract, ServedSandbox


class TestZendeskContract(ConnectorContract):
    connector = "zendesk"
    sandbox_options = {"records": 60, "seed": 3, "relaxed_limits": True}

    def oauth_connection_config(self, sandbox: ServedSandbox) -> dict[str, Any]:
        # OAuth client credentials: Zendesk's expiring bearer tokens. (The sandbox could offer
        # this itself as `oauth_connection_config(base_url, ca_file)`.)
        plain = self.sandbox_connection_config(sandbox)
        credentials = sandbox.app.credentials
        return {
            **{k: v for k, v in plain.items() if k not in ("email", "token")},
            "oauth_client_id": credentials["oauth_client_id"],
            "oauth_client_secret": credentials["oauth_client_secret"],
        }

    @pytest.mark.xfail(
        strict=True,
        reason="the Zendesk sandbox's mutate() changes a ticket's metric set too but reports "
        "only the ticket (ticket/<id>), not ticket_metric/<id>",
    )
    async def test_incremental_read_after_a_change_writes_exactly_the_changed_records(
        self, contract_hub: Any
    ) -> None:
        await super().test_incremental_read_after_a_change_writes_exactly_the_changed_records(
            contract_hub
        )
