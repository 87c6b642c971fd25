"""The Salesforce connector passes the connector contract against its sandbox."""

from __future__ import annotations

from hub.testing.contract import ConnectorContract


class TestSalesforceContract(ConnectorContract):
    connector = "salesforce"
    sandbox_options = {"records": 24, "seed": 3, "relaxed_limits": True}
    # The changes mutate() makes are seconds old: read up to the server's clock here (the
    # default margin is tested in test_sync.py).
    config_overrides = {"safety_margin_seconds": 0}
