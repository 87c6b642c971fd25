"""The ``hub`` command: noun groups with verbs (typer), one module per command group.

Exit codes: 0 success, 1 failure (one line saying what and what to do), 2 usage error,
130/143 interrupted by Ctrl-C/SIGTERM. ``--json`` gives machine-readable output, ``--verbose``
the hub's debug lines and ``--traceback`` the stack of a failure, anywhere on the line.
"""

from __future__ import annotations

from hub.cli import audit as _audit
from hub.cli import bench as _bench
from hub.cli import cases as _cases
from hub.cli import check as _check
from hub.cli import connections as _connections
from hub.cli import connectors as _connectors
from hub.cli import customers as _customers
from hub.cli import keys as _keys
from hub.cli import outbox as _outbox
from hub.cli import principals as _principals
from hub.cli import quarantine as _quarantine
from hub.cli import retention as _retention
from hub.cli import run as _run
from hub.cli import sandbox as _sandbox
from hub.cli import schedules as _schedules
from hub.cli import secrets as _secrets
from hub.cli import setup as _setup
from hub.cli import sync as _sync
from hub.cli.base import app

__all__ = ["app"]
# Imported for their commands: each module registers its own on the app.
_COMMANDS = (_audit, _bench, _cases, _check, _connections, _connectors, _customers, _keys,
             _outbox, _principals, _quarantine, _retention, _run, _sandbox, _schedules,
             _secrets, _setup, _sync)  # fmt: skip
