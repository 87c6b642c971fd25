"""Shared machinery of the vendor emulators: data generation, fault injection, serving, and the
kit a sandbox is built from (request pipeline, OAuth token endpoint, paging, generated
collections, async jobs, declared options).

Each built-in connector ships a sandbox built from these pieces, registered with the
``hub_register_sandboxes`` hook and built by :func:`build_sandbox`.
"""

from hub.sandbox.app import SandboxApp, build_sandbox
from hub.sandbox.collection import Deletion, GeneratedCollection
from hub.sandbox.faults import FaultSpec, SandboxStats
from hub.sandbox.jobs import JobError, JobSimulator
from hub.sandbox.oauth import OAuthError, TokenEndpoint, TokenIssuer
from hub.sandbox.options import OptionSpec, SandboxOptionError, SandboxOptions
from hub.sandbox.paging import CursorPaging, IdSpace, OffsetPaging
from hub.sandbox.pipeline import Limit, RequestPipeline, VendorApiError
from hub.sandbox.server import RunningSandbox, serve_forever, serve_in_background

__all__ = [
    "CursorPaging",
    "Deletion",
    "FaultSpec",
    "GeneratedCollection",
    "IdSpace",
    "JobError",
    "JobSimulator",
    "Limit",
    "OAuthError",
    "OffsetPaging",
    "OptionSpec",
    "RequestPipeline",
    "RunningSandbox",
    "SandboxApp",
    "SandboxOptionError",
    "SandboxOptions",
    "SandboxStats",
    "TokenEndpoint",
    "TokenIssuer",
    "VendorApiError",
    "build_sandbox",
    "serve_forever",
    "serve_in_background",
]
