"""Behaviour of hub.log: redaction of credentials and personal data in every log line."""

from __future__ import annotations

import io
import json
import logging
import sys
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.log import RedactionFilter, configure_logging, redact
from hub.runtime import Hub
from hub.sync import sync_connection
from hub.testing import MemorySource


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ("Authorization: Bearer eyJhbGciOi.J9.sig", "eyJhbGciOi"),
        ("authorization: Basic YWdlbnRAYWNtZS5jb20vdG9rZW46YWJj", "YWdlbnRAYWNtZS5jb20"),
        ("{'authorization': 'Token tk_9f8e7d'}", "tk_9f8e7d"),
        ("[(b'Set-Cookie', b'_vendor_session=s3ss10n; path=/'), (b'Vary', b'Accept')]", "s3ss10n"),
        ("(b'Authorization', b'OAuth 00D5g.xyz')", "00D5g.xyz"),
        ("Cookie: sid=abc123def", "abc123def"),
        ("GET https://x.test/oauth?access_token=at-5566&page=2", "at-5566"),
        ('{"refresh_token": "rt 77 88", "expires_in": 3600}', "rt 77 88"),
        ('{"password": "hunter2"}', "hunter2"),
        ("api_token=zd-api-0011", "zd-api-0011"),
        ("client_secret: cs-4455", "cs-4455"),
        ("agent@acme.test/token:zd-api-0022", "zd-api-0022"),
        ("connecting to https://svc:pa55w0rd@db.internal/hub", "pa55w0rd"),
        ("customer jane.doe@example.com opened a case", "jane.doe@example.com"),
        ('HTTP Request: GET https://x.test/search.json?query=Jane+Doe&page=2 "200"', "Jane"),
        ("GET /search.json?query=jane.doe%40example.com", "jane.doe%40example.com"),
        ("call from +44 20 7946 0958 ended", "7946 0958"),
        ("sms to %2B15551234567", "5551234567"),
        ("callback (555) 123-4567 requested", "123-4567"),
    ],
)
def test_redacts_credentials_and_personal_values(line: str, secret: str) -> None:
    assert secret not in redact(line)


@pytest.mark.parametrize(
    "line",
    [
        "GET /api/v2/tickets.json -> 200 (attempt 1)",
        "cursor 2024-05-01T12:00:00+00:00 after ticket 1234567890",
        "receive_response_headers.complete return_value=(b'HTTP/1.1', 429, b'Too Many')",
        "token refresh failed; retrying in 2.5 s",
    ],
)
def test_leaves_ordinary_log_lines_alone(line: str) -> None:
    assert redact(line) == line


@pytest.mark.parametrize(
    "line",
    [
        "Authorization: Bearer abc, mail jane@example.com",
        "[(b'Set-Cookie', b'sid=1'), (b'Content-Length', b'2')]",
        "GET https://x.test/a?access_token=at-1&page=2",
    ],
)
def test_redacting_twice_changes_nothing_more(line: str) -> None:
    once = redact(line)
    assert redact(once) == once


_FRAGMENTS = st.sampled_from(
    [
        *("Authorization", "Set-Cookie", "Bearer ", "token", "password", "[REDACTED]"),
        *(": ", "=", "'", '"', "b'", ", ", "(", ")", "\n", " ", "a", "1", "&"),
        *("jane@x.test", "%40", "+15551234567", "555-123-4567", "https://h.test/p?"),
    ]
)


@given(st.lists(_FRAGMENTS, max_size=12).map("".join))
def test_redacting_any_mix_of_fragments_twice_changes_nothing_more(line: str) -> None:
    once = redact(line)
    assert redact(once) == once


def test_filter_redacts_arguments_and_tracebacks() -> None:
    try:
        raise RuntimeError("login failed for jane@example.com")
    except RuntimeError:
        record = logging.LogRecord(
            "hub.test", logging.ERROR, __file__, 1, "sent %s", ("Bearer abc.def",), None
        )
        record.exc_info = sys.exc_info()
    assert RedactionFilter().filter(record) is True
    assert "abc.def" not in record.getMessage()
    assert record.exc_text is not None
    assert "jane@example.com" not in record.exc_text
    assert "RuntimeError" in record.exc_text


@pytest.mark.usefixtures("restore_root_logging")
def test_json_lines_are_redacted_and_parseable() -> None:
    output = io.StringIO()
    configure_logging(logging.INFO, json=True, stream=output)
    logging.getLogger("hub.sync").info("synced %d cases for %s", 3, "jane@example.com")
    entry = json.loads(output.getvalue())
    assert entry["level"] == "INFO"
    assert entry["logger"] == "hub.sync"
    assert entry["message"] == "synced 3 cases for [EMAIL]"


@pytest.mark.usefixtures("restore_root_logging")
def test_configuring_twice_replaces_the_handler_instead_of_doubling_lines() -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging(logging.INFO, stream=first)
    configure_logging(logging.INFO, stream=second)
    logging.getLogger("hub.sync").info("one line")
    assert first.getvalue() == ""
    assert second.getvalue().count("one line") == 1


@pytest.mark.usefixtures("restore_root_logging")
def test_handlers_already_on_the_root_logger_are_redacted_too() -> None:
    other = io.StringIO()
    foreign = logging.StreamHandler(other)
    logging.getLogger().addHandler(foreign)
    configure_logging(logging.INFO, stream=io.StringIO())
    logging.getLogger("httpx").info("HTTP Request: GET https://x.test/?access_token=at-1 200")
    assert "at-1" not in other.getvalue()
    assert "HTTP Request: GET" in other.getvalue()


_LINE = 256 * 1024
# Lines a database driver or a hostile vendor can produce: long runs that each pattern could
# try to match from every position. Redaction that backtracks takes minutes on one of them.
_ADVERSARIAL = {
    "email-chain": "a@a.a@",
    "local-part-run": "a",
    "dotted-run": "a.",
    "name-segments": "a_",
    "dashed-segments": "1-",
    "keyword-segments": "token_",
    "url-schemes": "http://",
    "quotes": "password='",
    "digit-groups": "555-",
    "encoded-plus": "%2B1",
}


@pytest.mark.parametrize("unit", list(_ADVERSARIAL.values()), ids=list(_ADVERSARIAL))
def test_redacts_a_256_kb_adversarial_line_in_linear_time(unit: str) -> None:
    line = (unit * (_LINE // len(unit) + 1))[:_LINE] + " mail jane.doe@example.com"
    started = time.perf_counter()
    redacted = redact(line)
    assert time.perf_counter() - started < 5  # about 0.1 s; quadratic takes minutes
    assert "jane.doe@example.com" not in redacted


@pytest.mark.usefixtures("restore_root_logging")
async def test_a_debug_sync_logs_no_database_statement_or_parameter(
    hub: Hub, memory: MemorySource
) -> None:
    output = io.StringIO()
    configure_logging(logging.DEBUG, stream=output)
    results = await sync_connection(hub, "mem")
    assert {r.status for r in results} == {"succeeded"}
    log = output.getvalue()
    assert "v1:" not in log  # no sealed value travelled as a statement parameter
    for driver in ("sqlalchemy.engine", "aiosqlite", "psycopg"):
        assert f" {driver}" not in log
    assert "INSERT INTO" not in log
