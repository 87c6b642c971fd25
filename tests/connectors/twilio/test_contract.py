"""The Twilio connector passes the connector contract against its sandbox."""

from __future__ import annotations

from hub.testing.contract import ConnectorContract


class TestTwilioContract(ConnectorContract):
    connector = "twilio"
    sandbox_options = {"records": 80, "seed": 3, "relaxed_limits": True}
