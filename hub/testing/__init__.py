"""Test kit for the hub and for connector packages: a memory connector for engine tests, a
fake clock, and the connector contract suite (:class:`ConnectorContract`, from
``hub.testing.contract``; it needs pytest, so it is imported only when asked for)."""

from typing import TYPE_CHECKING, Any

from hub.testing.clock import FakeClock
from hub.testing.memory import MemoryConnector, MemorySource, register_source

if TYPE_CHECKING:
    from hub.testing.contract import ConnectorContract

__all__ = ["ConnectorContract", "FakeClock", "MemoryConnector", "MemorySource", "register_source"]


def __getattr__(name: str) -> Any:
    if name == "ConnectorContract":
        from hub.testing.contract import ConnectorContract

        return ConnectorContract
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
