"""The region decides the API and login hosts; explicit hosts are for anything else."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from connectors.genesys.config import GenesysConfig

CLIENT = {"client_id": "cid", "client_secret": "not-a-real-secret"}


def _config(**fields: Any) -> GenesysConfig:
    return GenesysConfig.model_validate({**CLIENT, **fields})


@pytest.mark.parametrize("region", ["eu_west_1", "mypurecloud.ie"])
def test_a_region_name_or_host_gives_the_api_and_login_hosts(region: str) -> None:
    config = _config(region=region)
    assert config.base_url == "https://api.mypurecloud.ie"
    assert config.token_url() == "https://login.mypurecloud.ie/oauth/token"


def test_explicit_hosts_are_used_as_given() -> None:
    config = _config(base_url="http://127.0.0.1:8103/", login_url="http://127.0.0.1:8104")
    assert config.base_url == "http://127.0.0.1:8103"
    assert config.token_url() == "http://127.0.0.1:8104/oauth/token"


def test_without_a_login_host_the_sdk_rule_derives_it_from_the_api_host() -> None:
    assert _config(base_url="https://api.usw2.pure.cloud").token_url() == (
        "https://login.usw2.pure.cloud/oauth/token"
    )
    assert _config(base_url="http://localhost:9").token_url() == "http://localhost:9/oauth/token"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"region": "moon_1"}, "unknown region; give one of us_east_1"),
        ({"region": "us_east_1", "base_url": "https://x.example"}, "either region or base_url"),
        ({}, "give region, or base_url"),
        ({"base_url": "api.mypurecloud.com"}, "must be an http"),
    ],
)
def test_bad_host_settings_are_refused_with_a_reason(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message) as caught:
        _config(**fields)
    assert "not-a-real-secret" not in str(caught.value)


async def test_a_connection_added_with_a_region_is_built_again_from_the_store(hub: Any) -> None:
    from hub.services.sandboxes import connect_sandbox

    await connect_sandbox(hub, "gc", "genesys", {**CLIENT, "region": "ap_southeast_2"})
    async with hub.connection("gc") as connector:
        assert connector.config.base_url == "https://api.mypurecloud.com.au"
        assert connector.config.token_url() == "https://login.mypurecloud.com.au/oauth/token"
