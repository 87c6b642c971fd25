"""The Zendesk Support API emulator (see :class:`ZendeskSandbox`)."""

from connectors.zendesk.sandbox.app import ZendeskSandbox

__all__ = ["ZendeskSandbox"]
