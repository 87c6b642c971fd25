"""hub.http.ServerClock: the vendor's time as its answers' Date headers show it."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import formatdate

import httpx
import pytest

from hub.http import ServerClock
from hub.testing import FakeClock

OURS = 1_800_000_000.0


def _answer(**headers: str) -> httpx.Response:
    return httpx.Response(200, headers=headers)


def test_before_any_answer_the_server_clock_is_ours() -> None:
    clock = ServerClock(FakeClock(OURS))
    assert not clock.observed
    assert clock.now() == datetime.fromtimestamp(OURS, UTC)


def test_an_answers_date_sets_the_servers_time_and_it_runs_on_with_ours() -> None:
    ours = FakeClock(OURS)
    clock = ServerClock(ours)
    clock.observe(_answer(Date=formatdate(OURS - 86_400, usegmt=True)))  # a day behind us
    ours.advance(60)
    assert clock.observed
    # Within the second the Date names: half a second in is the guess.
    assert clock.now().timestamp() == pytest.approx(OURS - 86_400 + 60, abs=1)


@pytest.mark.parametrize("headers", [{}, {"Date": "yesterday at noon"}])
def test_an_answer_without_a_readable_date_changes_nothing(headers: dict[str, str]) -> None:
    ours = FakeClock(OURS)
    clock = ServerClock(ours)
    clock.observe(_answer(Date=formatdate(OURS + 3600, usegmt=True)))
    clock.observe(_answer(**headers))
    assert clock.now().timestamp() == pytest.approx(OURS + 3600, abs=1)


def test_a_clock_for_upper_bounds_takes_the_end_of_the_second_the_date_names() -> None:
    ours = FakeClock(OURS + 0.25)  # the answer left a quarter second into the second it names
    clock = ServerClock(ours, into_second=1.0)
    clock.observe(_answer(Date=formatdate(OURS, usegmt=True)))
    assert clock.now().timestamp() == OURS + 1
