"""Where the master key comes from: HUB_MASTER_KEY, a key-provider plugin (here a KMS
stand-in in another process), or the key file; a missing or wrong key stops the hub at
start, saying which sources were tried and never showing a key."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.config import Settings, load_settings, write_default_config
from hub.errors import VaultError
from hub.plugins import register_plugin, unregister_plugin
from hub.runtime import Hub
from hub.services.secrets import set_secret
from hub.vault import get_secret
from tests.hub.vault.fake_kms import FakeKmsPlugin, FakeKmsProvider, call


@pytest.fixture
def kms(tmp_path: Path) -> Iterator[FakeKmsProvider]:
    """A registered fake-KMS provider holding a fresh master key as a KMS ciphertext."""
    kms_key_file = tmp_path / "kms" / "kms.key"
    kms_key_file.parent.mkdir()
    kms_key_file.write_text(base64.b64encode(os.urandom(32)).decode())
    blob = tmp_path / "kms" / "master.key.kms"
    blob.write_text(call("encrypt", kms_key_file, base64.b64encode(os.urandom(32)).decode()))
    plugin = FakeKmsPlugin(FakeKmsProvider(kms_key_file, blob))
    register_plugin(plugin, name="fake-kms-test")
    yield plugin.provider
    unregister_plugin(plugin)


def _settings(tmp_path: Path, database_url: str, **values: object) -> Settings:
    home = tmp_path / "hub"
    home.mkdir(exist_ok=True)
    write_default_config(home / "hub.toml", {"database_url": database_url, **values})
    return load_settings(home / "hub.toml")


async def test_the_master_key_can_come_from_a_key_provider_plugin(
    tmp_path: Path, database_url: str, kms: FakeKmsProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HUB_MASTER_KEY", raising=False)
    settings = _settings(tmp_path, database_url, master_key_provider="fake-kms")
    async with Hub.open(settings, create=True) as hub:
        await set_secret(hub, "zd-token", "t0ken")
    async with Hub.open(settings) as hub, hub.engine.connect() as conn:
        assert await get_secret(conn, hub.keyring, "zd-token") == "t0ken"
    assert not settings.resolved_key_file.exists()  # the key lives only as a KMS ciphertext


async def test_a_provider_that_cannot_answer_stops_the_hub_naming_the_sources_tried(
    tmp_path: Path, database_url: str, kms: FakeKmsProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HUB_MASTER_KEY", raising=False)
    settings = _settings(tmp_path, database_url, master_key_provider="fake-kms")
    kms.blob_file.unlink()
    with pytest.raises(VaultError) as failure:
        async with Hub.open(settings, create=True):
            pass
    assert str(failure.value) == (
        "the master key is missing: tried HUB_MASTER_KEY (not set), key provider 'fake-kms' "
        f"(no encrypted master key at {kms.blob_file})"
    )


async def test_a_provider_that_is_not_installed_is_named_with_those_that_are(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HUB_MASTER_KEY", raising=False)
    settings = _settings(tmp_path, database_url, master_key_provider="vault-transit")
    with pytest.raises(VaultError, match=r"key provider 'vault-transit' \(not installed"):
        async with Hub.open(settings, create=True):
            pass


async def test_a_wrong_master_key_stops_the_hub_naming_where_it_came_from(
    hub_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with Hub.open(hub_settings, create=True):
        pass
    other = base64.b64encode(os.urandom(32)).decode()
    monkeypatch.setenv("HUB_MASTER_KEY", other)
    with pytest.raises(VaultError) as failure:
        async with Hub.open(hub_settings):
            pass
    message = str(failure.value)
    assert message.startswith(
        "the master key from the environment variable HUB_MASTER_KEY does not open data key 1"
    )
    assert other not in message


async def test_an_interrupted_master_key_rotation_points_at_the_staged_key(
    hub_settings: Settings,
) -> None:
    async with Hub.open(hub_settings, create=True) as hub:
        from hub.services.keys import rotate_master_key

        new = os.urandom(32)
        await rotate_master_key(hub, new)  # the database now needs `new`; the file is old
    staged = hub_settings.resolved_key_file.with_name("master.key.new")
    staged.write_text(base64.b64encode(new).decode())
    staged.chmod(0o600)
    with pytest.raises(VaultError, match=r"master\.key\.new exists: a master key rotation stopped"):
        async with Hub.open(hub_settings):
            pass
