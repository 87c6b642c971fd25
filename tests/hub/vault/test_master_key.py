"""The master key: created owner-only, loaded from HUB_MASTER_KEY or the key file."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from hub.errors import VaultError
from hub.vault import create_master_key, load_master_key


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_creates_a_32_byte_key_readable_only_by_its_owner(tmp_path: Path) -> None:
    key_file = tmp_path / "secrets" / "master.key"

    create_master_key(key_file)

    assert _mode(key_file) == 0o600
    assert _mode(key_file.parent) == 0o700
    assert len(load_master_key(key_file, env={})) == 32


def test_two_created_keys_differ(tmp_path: Path) -> None:
    create_master_key(tmp_path / "a.key")
    create_master_key(tmp_path / "b.key")

    assert load_master_key(tmp_path / "a.key", env={}) != load_master_key(
        tmp_path / "b.key", env={}
    )


def test_refuses_to_overwrite_an_existing_key_file(tmp_path: Path) -> None:
    key_file = tmp_path / "master.key"
    create_master_key(key_file)
    before = key_file.read_bytes()

    with pytest.raises(VaultError, match="already exists"):
        create_master_key(key_file)

    assert key_file.read_bytes() == before


def test_environment_variable_wins_over_the_key_file(tmp_path: Path) -> None:
    key_file = tmp_path / "master.key"
    create_master_key(key_file)
    from_env = bytes(range(32))

    loaded = load_master_key(key_file, env={"HUB_MASTER_KEY": base64.b64encode(from_env).decode()})

    assert loaded == from_env


def test_environment_variable_works_without_any_key_file(tmp_path: Path) -> None:
    encoded = base64.b64encode(b"k" * 32).decode()

    assert load_master_key(tmp_path / "absent.key", env={"HUB_MASTER_KEY": encoded}) == b"k" * 32


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644])
def test_refuses_a_key_file_group_or_others_can_read(tmp_path: Path, mode: int) -> None:
    key_file = tmp_path / "master.key"
    create_master_key(key_file)
    os.chmod(key_file, mode)
    key_text = key_file.read_text().strip()

    with pytest.raises(VaultError) as caught:
        load_master_key(key_file, env={})

    message = str(caught.value)
    assert str(key_file) in message
    assert "chmod 600" in message
    assert key_text not in message


def test_missing_key_names_where_it_looked_and_says_to_restore_it_from_backup(
    tmp_path: Path,
) -> None:
    key_file = tmp_path / "secrets" / "master.key"

    with pytest.raises(VaultError, match="master key is missing") as caught:
        load_master_key(key_file, env={})

    message = str(caught.value)
    assert str(key_file) in message and "HUB_MASTER_KEY" in message
    assert "restore the original key from backup" in message
    assert "hub init" not in message  # a new key would open nothing the database holds


@pytest.mark.parametrize(
    "value",
    [
        "not base64 at all!",
        base64.b64encode(b"short").decode(),
        base64.b64encode(b"x" * 33).decode(),
        "",
    ],
)
def test_malformed_environment_key_names_the_variable_but_not_the_value(
    tmp_path: Path, value: str
) -> None:
    with pytest.raises(VaultError, match="HUB_MASTER_KEY") as caught:
        load_master_key(tmp_path / "master.key", env={"HUB_MASTER_KEY": value})

    if value:
        assert value not in str(caught.value)


def test_malformed_key_file_names_the_file_but_not_the_content(tmp_path: Path) -> None:
    key_file = tmp_path / "master.key"
    content = base64.b64encode(b"sixteen byte key").decode()
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, content.encode())
    os.close(fd)

    with pytest.raises(VaultError) as caught:
        load_master_key(key_file, env={})

    assert str(key_file) in str(caught.value)
    assert content not in str(caught.value)
