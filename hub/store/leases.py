"""Stream leases: one run at a time per (connection, stream), across processes and machines.

A run takes its stream's lease in the transaction that opens it, renews it with every page it
commits (and from a heartbeat between pages), and gives it back when it finishes. Two runs of
one stream would otherwise read the same cursor, write each other's pages and move the cursor
backwards. A lease whose holder is gone is taken over: either it lapsed (no renewal for the
lease period, e.g. the holder's machine died) or its holder process no longer exists on this
host (e.g. killed with SIGKILL), which frees the stream at once instead of after the lease.
Renewal is a compare-and-set on the run id, so a run whose lease was taken over can commit
nothing more: its next page fails with :class:`~hub.errors.StreamBusy`.

A run first reads the lease outside any write transaction (:func:`refuse_if_held`): a live
holder commits a page now and then, and on SQLite a writer would queue behind that page's
write lock and might only get it once the holder has finished, and then run instead of being
refused. :func:`acquire` repeats the check under the lock, so the read decides nothing alone.

Hosts sharing one database must have distinct host names (true of VMs, pods and containers by
default); the holder's process is only looked up on its own host.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.errors import StreamBusy
from hub.store.schema import stream_leases


@dataclass(frozen=True)
class Holder:
    """A process, named so that another process can tell whether it still exists."""

    host: str
    pid: int
    started: str  # the process's start time in kernel ticks ("" where /proc is missing)

    def __str__(self) -> str:
        return f"{self.host}:{self.pid}:{self.started}"

    @classmethod
    def parse(cls, text: str) -> Holder:
        host, pid, started = text.rsplit(":", 2)
        return cls(host, int(pid), started)

    def is_gone(self) -> bool:
        """True only when this host can see that the holder process no longer runs."""
        if self.host != socket.gethostname():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # another user's process: it exists
            pass
        started = _start_time(self.pid)
        # A zombie has finished; a different start time means the pid was reused.
        return started == "Z" or bool(self.started and started and started != self.started)


def _start_time(pid: int) -> str:
    """Linux start time of ``pid`` ("Z" for a zombie), or "" where it cannot be read."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    fields = stat.rsplit(")", 1)[-1].split()  # the command name may hold spaces
    return "Z" if fields[0] == "Z" else fields[19]


def this_process() -> Holder:
    # Not cached: a forked child is another process and must name itself.
    return Holder(socket.gethostname(), os.getpid(), _start_time(os.getpid()))


async def acquire(
    conn: AsyncConnection,
    connection: str,
    stream: str,
    run_id: int,
    *,
    now: datetime,
    period: timedelta,
) -> int | None:
    """Give the stream's lease to ``run_id``; returns the run it was taken from, if any.

    Raises StreamBusy when a live run holds it.
    """
    where = _of(connection, stream)
    current = (await conn.execute(sa.select(stream_leases).where(*where))).first()
    values = {"run_id": run_id, "holder": str(this_process()), "expires_at": now + period}
    if current is None:
        try:  # the caller's transaction is spoilt by the error; it rolls back on StreamBusy
            await conn.execute(
                sa.insert(stream_leases).values(connection=connection, stream=stream, **values)
            )
        except sa.exc.IntegrityError:
            raise _just_taken(connection, stream) from None
        return None
    _refuse_live(current, connection, stream, now)
    # Compare-and-set: of several runs taking over at once, one wins.
    taken = await conn.execute(
        sa.update(stream_leases)
        .where(*where, stream_leases.c.run_id == current.run_id)
        .values(values)
    )
    if taken.rowcount != 1:
        raise _just_taken(connection, stream)
    return int(current.run_id)


async def refuse_if_held(
    conn: AsyncConnection, connection: str, stream: str, *, now: datetime
) -> None:
    """StreamBusy when a live run holds the stream; a plain read, so it waits on no writer."""
    current = (await conn.execute(sa.select(stream_leases).where(*_of(connection, stream)))).first()
    if current is not None:
        _refuse_live(current, connection, stream, now)


def _of(connection: str, stream: str) -> tuple[sa.ColumnElement[bool], ...]:
    return stream_leases.c.connection == connection, stream_leases.c.stream == stream


def _refuse_live(lease: sa.Row[Any], connection: str, stream: str, now: datetime) -> None:
    """StreamBusy unless ``lease`` has lapsed or its holder is gone."""
    holder = Holder.parse(lease.holder)
    expires_at = lease.expires_at
    if expires_at > now and not holder.is_gone():
        raise StreamBusy(
            f"{connection}/{stream} is held by run {lease.run_id} "
            f"(process {holder.pid} on {holder.host}); should that run stop renewing its "
            f"lease, the stream is free after {expires_at:%Y-%m-%d %H:%M:%S} UTC"
        )


def _just_taken(connection: str, stream: str) -> StreamBusy:
    return StreamBusy(f"{connection}/{stream}: another run took the stream just now")


async def renew(
    conn: AsyncConnection, connection: str, stream: str, run_id: int, *, expires_at: datetime
) -> None:
    """Extend ``run_id``'s lease; StreamBusy if another run has taken it over."""
    renewed = await conn.execute(
        sa.update(stream_leases)
        .where(
            stream_leases.c.connection == connection,
            stream_leases.c.stream == stream,
            stream_leases.c.run_id == run_id,
        )
        .values(expires_at=expires_at)
    )
    if renewed.rowcount != 1:
        raise StreamBusy(
            f"{connection}/{stream}: run {run_id} lost the stream to another run "
            "after its lease lapsed; its last page was not committed"
        )


async def release(conn: AsyncConnection, connection: str, stream: str, run_id: int) -> None:
    """Give the lease back (a no-op if another run has taken it over)."""
    await conn.execute(
        sa.delete(stream_leases).where(
            stream_leases.c.connection == connection,
            stream_leases.c.stream == stream,
            stream_leases.c.run_id == run_id,
        )
    )


async def lapsing_in(
    conn: AsyncConnection, connection: str, stream: str, *, now: datetime, period: timedelta
) -> timedelta | None:
    """How long until the stream's lease lapses, when its holder has missed renewals (less
    than half the lease period is left; a live holder renews every third of it); None when
    the stream is free or its holder is renewing."""
    expires_at: datetime | None = await conn.scalar(
        sa.select(stream_leases.c.expires_at).where(*_of(connection, stream))
    )
    if expires_at is None or expires_at - now > period / 2:
        return None
    left: timedelta = max(expires_at - now, timedelta(0))
    return left
