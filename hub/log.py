"""Logging set-up with redaction: no token, credential or personal value reaches a log line.

The :class:`RedactionFilter` sits on the root logger's handlers, so it also covers what httpx
(INFO: method and full URL, query string included) and httpcore (DEBUG: response headers such
as ``Set-Cookie``) log. Emails and phone numbers are masked as a second line of defence: code
should not log them in the first place.
"""

from __future__ import annotations

import json as jsonlib
import logging
import re
import sys
from datetime import UTC, datetime
from typing import TextIO

REDACTED = "[REDACTED]"

# Separators between a name and its value: "name: v", "name=v", dict reprs ('name': 'v') and,
# for headers, httpcore's tuples ((b'Name', b'v')).
# Atomic groups: the value check below must not be dodged by giving back a space or a quote.
_HEADER_SEPARATOR = r"""((?>['"]?\s*[:=,]\s*(?:b(?=['"]))?))"""
_FIELD_SEPARATOR = r"""((?>['"]?\s*[:=]\s*(?:b(?=['"]))?))"""
# A value: a quoted string (kept whole) or a bare run; never one already redacted, so that
# redacting twice changes nothing.
_NOT_DONE = r"""(?!['"]?\[REDACTED\])"""
_QUOTED = r""""[^"]*"|'[^']*'"""
_SECRET_HEADER = re.compile(
    r"(?i)\b(authorization|proxy-authorization|cookie|set-cookie|x-api-key|x-auth-token)"
    + _HEADER_SEPARATOR
    + _NOT_DONE
    + rf"({_QUOTED}|[^\r\n]+)"
)
_AUTH_SCHEME = re.compile(r"(?i)(?<![a-z])(bearer|basic|digest)\s+[A-Za-z0-9._~+/=-]+")
# The name's keyword is matched alone (a prefix such as "x_" stays in the text untouched, as
# "_" is no letter): matching "(?:[a-z0-9]+[_-])*" before it backtracked quadratically on long
# runs of "a_a_a_...".
_SECRET_FIELD = re.compile(
    r"""(?i)(?<![A-Za-z0-9])"""
    r"""((?:token|password|passwd|secret|api[_-]?key|apikey|session[_-]?id|signature))"""
    + _FIELD_SEPARATOR
    + _NOT_DONE
    + rf"""({_QUOTED}|[^\s'"&,;}}\])]+)"""
)
# Query strings of full URLs (httpx logs every request URL at INFO) carry search terms, names
# and cursors: keep the parameter names, mask every value.
# The part before "?" stops at another "://": an attempt from each "http://" of a long line
# would otherwise scan to its end (quadratic); a URL nested in a path is matched on its own.
_URL_QUERY = re.compile(r"""(https?://(?:[^\s?#'"<>:]|:(?!//))++\?)([^\s#'"<>]*)""")
_QUERY_VALUE = re.compile(r"=[^&;]+")
_URL_USERINFO = re.compile(r"(?<=://)[^/\s@]+@")
# An email starts only where a run of local-part characters starts: a match attempt from the
# middle of a run would rescan the rest of it, and a 256 KB run would cost n^2/2 steps (minutes).
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+(?:@|%40)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)
# International numbers need a leading plus (or its URL encoding) and 7+ digits, so that
# timestamps, ids and UTC offsets survive; North American numbers need the 3-3-4 grouping.
_PHONE = re.compile(
    r"(?<!\+)(?:\+|%2B)\d(?:[\s().-]?\d){6,14}(?!\d)"
    r"|(?<!\w)\(?\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}(?!\d)"
)


def _mask_value(named: re.Match[str]) -> str:
    name, separator, value = named.groups()
    quote = value[0] if len(value) > 1 and value[0] in "'\"" and value[-1] == value[0] else ""
    return f"{name}{separator}{quote}{REDACTED}{quote}"


def _mask_query(url: re.Match[str]) -> str:
    return url.group(1) + _QUERY_VALUE.sub(f"={REDACTED}", url.group(2))


def redact(text: str) -> str:
    """Mask credentials, URL query values, emails and phone numbers in ``text``; idempotent."""
    # A mask can expose a neighbour to another pattern ("555...Bearer x" once the phone is
    # "[PHONE]Bearer x"), so repeat until nothing changes; two passes settle real log lines.
    for _ in range(_MAX_PASSES):
        masked = _redact_once(text)
        if masked == text:
            break
        text = masked
    return text


_MAX_PASSES = 4


def _redact_once(text: str) -> str:
    text = _URL_QUERY.sub(_mask_query, text)
    text = _SECRET_HEADER.sub(_mask_value, text)
    text = _AUTH_SCHEME.sub(rf"\1 {REDACTED}", text)
    text = _SECRET_FIELD.sub(_mask_value, text)
    text = _URL_USERINFO.sub(f"{REDACTED}@", text)
    text = _EMAIL.sub("[EMAIL]", text)
    return _PHONE.sub("[PHONE]", text)


class RedactionFilter(logging.Filter):
    """Rewrites each record's message (with its args merged in), traceback and stack as
    redacted text. It never drops a record; it only changes what the record says."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # args that do not fit the format string
            message = f"{record.msg} {record.args!r}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message and exception if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, str] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return jsonlib.dumps(entry, ensure_ascii=False)


# Database drivers log every statement with its parameters (sealed values, digests, ids), and
# aiosqlite every result row, at INFO and DEBUG: megabytes a sync, redaction work for nothing
# and values no log needs. Only their warnings and errors get through; the engine is also
# built with ``hide_parameters`` so that error messages leave parameters out.
DRIVER_LOGGERS = (
    "sqlalchemy.engine",
    "sqlalchemy.pool",
    "sqlalchemy.dialects",
    "aiosqlite",
    "psycopg",
)


def quiet_database_drivers() -> None:
    """Keep the database drivers' loggers at WARNING, whatever the hub's level."""
    for name in DRIVER_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


class _HubHandler(logging.StreamHandler[TextIO]):
    """The handler :func:`configure_logging` installs; marked so a second call replaces it."""


_TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def install_redaction(handler: logging.Handler) -> None:
    """Put a :class:`RedactionFilter` on ``handler`` unless it already has one."""
    if not any(isinstance(f, RedactionFilter) for f in handler.filters):
        handler.addFilter(RedactionFilter())


# Libraries whose DEBUG lines describe their own internals (SQL, connection pools, sockets,
# a sandbox's server and data generator), hundreds per sync: ``library_level`` keeps them
# apart from the hub's own lines (hub.http logs each request and its outcome).
LIBRARY_LOGGERS = (
    "sqlalchemy", "alembic", "aiosqlite", "psycopg", "httpx", "httpcore", "uvicorn", "asyncio",
    "faker", "apscheduler",
)  # fmt: skip


def configure_logging(
    level: int | str,
    *,
    json: bool = False,
    stream: TextIO | None = None,
    library_level: int | str | None = None,
) -> logging.Handler:
    """Log to ``stream`` (stderr by default) at ``level``, as text or JSON lines, redacted;
    the :data:`LIBRARY_LOGGERS` at ``library_level`` when given (the CLI: WARNING).

    Every handler already on the root logger gets the redaction filter too, so no handler that
    another library or a test harness added can print an unredacted record. The database
    drivers stay at WARNING (see :data:`DRIVER_LOGGERS`).
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _HubHandler)]:
        root.removeHandler(old)
        old.close()
    handler = _HubHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if json else logging.Formatter(_TEXT_FORMAT))
    root.addHandler(handler)
    for each in root.handlers:
        install_redaction(each)
    root.setLevel(_level(level))
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(
            logging.NOTSET if library_level is None else _level(library_level)
        )
    quiet_database_drivers()
    return handler


def _level(level: int | str) -> int | str:
    """Level names in any case (``info``), as the configuration accepts them."""
    return level.upper() if isinstance(level, str) else level
