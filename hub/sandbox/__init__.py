"""Shared machinery of the vendor emulators: data generation, fault injection, serving.

Each built-in connector ships a sandbox built from these pieces (see ``Connector.sandbox``).
"""

from hub.sandbox.app import SandboxApp, build_sandbox
from hub.sandbox.faults import FaultSpec, SandboxStats
from hub.sandbox.server import RunningSandbox, serve_forever, serve_in_background

__all__ = [
    "FaultSpec",
    "RunningSandbox",
    "SandboxApp",
    "SandboxStats",
    "build_sandbox",
    "serve_forever",
    "serve_in_background",
]
