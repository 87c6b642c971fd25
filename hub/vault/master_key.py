"""The master key: 32 random bytes that only wrap data keys, from the environment or a file.

``HUB_MASTER_KEY`` (base64) wins over the key file so containers can inject it without a
file. The key file (default ``secrets/master.key``, created by ``hub init``) must not be
readable by group or others: a key anyone on the machine can read protects nothing, so
loading refuses it rather than warning. Errors name the variable or file, never the value.
"""

from __future__ import annotations

import base64
import binascii
import os
import stat
from collections.abc import Mapping
from pathlib import Path

from hub.errors import VaultError
from hub.vault.data_key import KEY_BYTES

ENV_VAR = "HUB_MASTER_KEY"
DEFAULT_KEY_FILE = Path("secrets") / "master.key"


def load_master_key(key_file: Path, env: Mapping[str, str] = os.environ) -> bytes:
    """The master key from ``HUB_MASTER_KEY`` if set, else from ``key_file``."""
    if ENV_VAR in env:
        return _decode(env[ENV_VAR], source=f"the environment variable {ENV_VAR}")
    return _decode(_read_key_file(key_file), source=f"the master key file {key_file}")


def create_master_key(key_file: Path) -> None:
    """Write a fresh random master key to ``key_file`` with mode 0600; never overwrite one.

    The parent directory is created with mode 0700 if missing. O_CREAT|O_EXCL makes creation
    atomic: of two concurrent ``hub init`` runs, exactly one writes the key.
    """
    write_master_key(key_file, os.urandom(KEY_BYTES))


def read_master_key_file(key_file: Path) -> bytes:
    """The master key in ``key_file``, with the same checks as at start (mode 0600)."""
    return _decode(_read_key_file(key_file), source=f"the master key file {key_file}")


def write_master_key(key_file: Path, key: bytes) -> None:
    """Write ``key`` to a new file ``key_file`` (mode 0600, never overwriting one)."""
    key_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    text = base64.b64encode(key) + b"\n"
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise VaultError(
            f"the master key file {key_file} already exists; refusing to overwrite it "
            "(the data keys in the database are wrapped by it)"
        ) from None
    except OSError as exc:
        raise VaultError(f"cannot create the master key file {key_file}: {exc.strerror}") from None
    try:
        os.write(fd, text)
        os.fsync(fd)
    except OSError as exc:
        os.close(fd)
        key_file.unlink(missing_ok=True)  # a half-written key must not be mistaken for one
        raise VaultError(f"cannot write the master key file {key_file}: {exc.strerror}") from None
    os.close(fd)


def _read_key_file(key_file: Path) -> str:
    """Read the key file, checking its mode on the open descriptor (no stat/open race)."""
    try:
        # O_NONBLOCK: a FIFO planted at the path must fail the regular-file check, not hang.
        fd = os.open(key_file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        # Not "run hub init": a new key cannot open the data keys the database already holds.
        raise VaultError(
            f"the master key is missing: looked for the file {key_file} and the environment "
            f"variable {ENV_VAR} (not set); restore the original key from backup to either"
        ) from None
    except OSError as exc:
        raise VaultError(f"cannot read the master key file {key_file}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise VaultError(f"the master key file {key_file} is not a regular file")
        # Owner-only permissions are meaningless on Windows, so only POSIX checks them.
        if os.name == "posix" and info.st_mode & 0o077:
            mode = stat.S_IMODE(info.st_mode)
            raise VaultError(
                f"the master key file {key_file} is accessible to group or others "
                f"(mode {mode:04o}); run `chmod 600 {key_file}`"
            )
        data = os.read(fd, 4096)
    finally:
        os.close(fd)
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        raise VaultError(f"the master key file {key_file} is not base64 text") from None


def _decode(text: str, *, source: str) -> bytes:
    """Strict base64 of exactly 32 bytes; the message names ``source`` only."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise VaultError(f"{source} is not valid base64") from None
    if len(key) != KEY_BYTES:
        raise VaultError(
            f"{source} holds {len(key)} bytes; a master key is {KEY_BYTES} bytes of base64"
        )
    return key
