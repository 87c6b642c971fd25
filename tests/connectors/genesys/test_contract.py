"""The Genesys Cloud connector passes the connector contract against its sandbox."""

from __future__ import annotations

from hub.testing.contract import ConnectorContract


class TestGenesysContract(ConnectorContract):
    connector = "genesys"
    sandbox_options = {"records": 40, "seed": 3, "relaxed_limits": True}
    # 40 conversations over 30 days are sparse: the newest six changed by mutate() span
    # about five days, so the re-read window must cover them (the default is 72 hours).
    config_overrides = {"lookback_hours": 24 * 31}
    # A full read is about twenty requests: at the default 5% the seed may expire none.
    expire_faults = "expire=0.2"
