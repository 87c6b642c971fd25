"""What every connector's config refuses by itself: transport that would carry credentials
unprotected to another machine, unless the connection explicitly allows it."""

from __future__ import annotations

import logging

import pytest
from pydantic import ValidationError

from hub.connector import ConnectorConfig
from hub.runtime import Hub
from hub.services import connections
from hub.sync import sync_connection
from hub.testing import MemoryConnector, MemorySource


@pytest.mark.parametrize(
    ("base_url", "verify_tls", "problem"),
    [
        ("http://acme.example.test", True, "base_url uses plain http to acme.example.test"),
        ("http://10.0.0.8:8080/api", True, "base_url uses plain http to 10.0.0.8"),
        ("https://acme.example.test", False, "verify_tls is false for acme.example.test"),
    ],
)
def test_unprotected_transport_to_another_host_is_refused_naming_it(
    base_url: str, verify_tls: bool, problem: str
) -> None:
    with pytest.raises(ValidationError, match=problem) as caught:
        ConnectorConfig(base_url=base_url, verify_tls=verify_tls)

    assert "set allow_insecure=true to accept the risk" in str(caught.value)
    allowed = ConnectorConfig(base_url=base_url, verify_tls=verify_tls, allow_insecure=True)
    assert allowed.insecure_transport() == problem


@pytest.mark.parametrize(
    "base_url", ["http://127.0.0.1:8080", "http://localhost/api", "http://[::1]:9000"]
)
def test_loopback_sandboxes_stay_allowed_with_plain_http_or_unverified_tls(base_url: str) -> None:
    assert ConnectorConfig(base_url=base_url).insecure_transport() is None
    assert ConnectorConfig(base_url=base_url, verify_tls=False).insecure_transport() is None


def test_https_with_verified_tls_is_protected() -> None:
    config = ConnectorConfig(base_url="https://acme.example.test", verify_tls="/etc/ca.pem")

    assert config.insecure_transport() is None


def test_a_connection_that_allows_insecure_transport_warns_each_time_it_is_asked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = MemoryConnector.config_model(base_url="http://acme.example.test", allow_insecure=True)
    connector = MemoryConnector(config, connection="mem")
    with caplog.at_level(logging.WARNING, logger="hub.connector"):
        connector.warn_if_insecure()
        connector.warn_if_insecure()

    assert [r.getMessage() for r in caplog.records] == [
        "connection mem: base_url uses plain http to acme.example.test (allow_insecure is "
        "set): credentials and records travel unprotected"
    ] * 2


async def test_every_sync_of_a_connection_allowed_insecure_transport_warns(
    hub: Hub, memory: MemorySource, caplog: pytest.LogCaptureFixture
) -> None:
    # Its source is not registered, so its runs fail; the warning comes before any reading.
    config = {"source": "unused", "base_url": "http://memory.example.test", "allow_insecure": True}
    await connections.add_connection(hub, "open", "memory", config)
    with caplog.at_level(logging.WARNING, logger="hub.connector"):
        await sync_connection(hub, "open", raise_errors=False)
        await sync_connection(hub, "open", raise_errors=False)
        await sync_connection(hub, "mem")  # memory:// is no network: nothing to warn of

    warnings = [r.getMessage() for r in caplog.records if r.name == "hub.connector"]
    assert (
        warnings
        == [
            "connection open: base_url uses plain http to memory.example.test (allow_insecure is "
            "set): credentials and records travel unprotected"
        ]
        * 2
    )
