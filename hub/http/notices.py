"""Telling whoever is watching that a request is about to be retried (which attempt comes
next, after how long a wait and why, so a progress line need not sit silent through backoff),
or that it waits before its first send on a rate limit (so `hub run` can count those waits)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryNotice:
    """A request failed and will be tried again after ``wait_seconds``."""

    attempt: int  # the attempt about to be made, counting from 1
    max_attempts: int
    wait_seconds: float
    reason: str  # a status ("503"), a transport error ("ReadTimeout") or "connection refused"

    def __str__(self) -> str:
        return (
            f"retry {self.attempt}/{self.max_attempts} in {self.wait_seconds:.1f} s: {self.reason}"
        )


RetryListener = Callable[[RetryNotice], None]

# A context variable, so that each stream's task (and the read-ahead task it starts) tells its
# own listener, with nothing threaded through the connectors that send the requests.
_listener: ContextVar[RetryListener | None] = ContextVar("hub_http_retry_listener", default=None)


@contextlib.contextmanager
def retry_listener(listener: RetryListener) -> Iterator[None]:
    """Within this block (and tasks started in it) every retry is told to ``listener``."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)


def notify_retry(notice: RetryNotice) -> None:
    """Tell the current listener, if any, about a coming retry."""
    listener = _listener.get()
    if listener is not None:
        listener(notice)


@dataclass(frozen=True)
class LimitWait:
    """A request waits ``wait_seconds`` before it is sent: the vendor's quota headers said
    the quota is spent (``reason`` "quota"), or a client-side limit is full ("limit")."""

    wait_seconds: float
    reason: str  # quota | limit


LimitWaitListener = Callable[[LimitWait], None]

# Per task, like the retry listener: the limiter is shared by every stream of a connection,
# and each wait is told to the stream whose request waits.
_wait_listener: ContextVar[LimitWaitListener | None] = ContextVar(
    "hub_http_limit_wait_listener", default=None
)


@contextlib.contextmanager
def limit_wait_listener(listener: LimitWaitListener) -> Iterator[None]:
    """Within this block (and tasks started in it) every rate-limit wait is told to
    ``listener``."""
    token = _wait_listener.set(listener)
    try:
        yield
    finally:
        _wait_listener.reset(token)


def notify_limit_wait(wait: LimitWait) -> None:
    """Tell the current listener, if any, that a request waits on a rate limit."""
    listener = _wait_listener.get()
    if listener is not None:
        listener(wait)
