"""Test kit for the hub and for connector packages: a memory connector for engine tests, a
fake clock, and (``hub.testing.contract``) the connector contract suite."""

from hub.testing.clock import FakeClock
from hub.testing.memory import MemoryConnector, MemorySource, register_source

__all__ = ["FakeClock", "MemoryConnector", "MemorySource", "register_source"]
