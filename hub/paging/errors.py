"""What can go wrong while paging: a vendor that sends the same page again, and a stored
stream state this hub cannot read."""

from __future__ import annotations

from hub.errors import ConnectorError, VendorError


class PaginationLoop(VendorError):
    """The vendor sent a page position it had sent before (or the same page again), so
    following it would never end. ``cursor`` is the repeated position, as shown to users."""

    def __init__(self, message: str, *, connection: str, stream: str, cursor: str) -> None:
        super().__init__(message, connection=connection, stream=stream)
        self.cursor = cursor


class StreamStateError(ConnectorError):
    """A stored stream state is of an unknown version, of another cursor strategy, or
    malformed; the message says which and how to start the stream over."""
