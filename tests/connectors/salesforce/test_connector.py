"""The Salesforce connector's auth flows and config, against the sandbox over loopback."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from connectors.salesforce.config import SalesforceConfig
from connectors.salesforce.connector import SalesforceConnector
from connectors.salesforce.sandbox import SalesforceSandbox
from hub.errors import AuthError
from hub.runtime import Hub
from hub.sandbox.server import RunningSandbox, serve_in_background
from hub.services.sandboxes import connect_sandbox
from hub.sync import sync_connection


async def test_the_jwt_bearer_flow_reads_on_the_instance_url(
    hub: Hub, sandbox: SalesforceSandbox, running: RunningSandbox
) -> None:
    config = sandbox.jwt_connection_config(running.base_url, running.ca_file)
    await connect_sandbox(hub, "jwt", "salesforce", {**config, "page_size": 10})
    async with hub.connection("jwt") as connector:
        await connector.check()
    [users] = await sync_connection(hub, "jwt", streams=["User"])
    assert (
        users.status == "succeeded" and users.counters.records_written == sandbox.org.counts.users
    )


async def test_a_jwt_for_another_user_is_refused_naming_the_grant(
    sandbox: SalesforceSandbox, running: RunningSandbox
) -> None:
    config = sandbox.jwt_connection_config(running.base_url, running.ca_file)
    connector = SalesforceConnector(
        SalesforceConfig.model_validate({**config, "username": "someone@else.example"}),
        connection="jwt",
    )
    async with connector:
        with pytest.raises(AuthError, match="jwt-bearer") as refused:
            await connector.check()
    assert "someone" not in str(refused.value)


async def test_tls_with_the_sandbox_ca(sandbox: SalesforceSandbox) -> None:
    async with serve_in_background(sandbox, tls=True) as served:
        config = SalesforceConfig.model_validate(served.connection_config())
        async with SalesforceConnector(config, connection="tls") as connector:
            await connector.check()
        assert str(connector.client.base_url).startswith("https://127.0.0.1:")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"client_secret": "s", "username": "u", "private_key": "k"}, "not both"),
        ({"username": "u"}, "missing: private_key"),
        ({}, "no credentials"),
        ({"client_secret": "s", "api_version": "v59"}, "api_version"),
        ({"client_secret": "s", "api_share_limit": 0}, "api_share_limit"),
        ({"client_secret": "s", "start": "yesterday"}, "start must be an ISO-8601"),
    ],
)
def test_config_errors_name_the_fields_and_never_the_values(
    fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError) as error:
        SalesforceConfig.model_validate(
            {"base_url": "https://acme.my.salesforce.com", "client_id": "app", **fields}
        )
    assert message in str(error.value)
    assert "'s'" not in str(error.value) and "'k'" not in str(error.value)
