"""hub.sandbox.clock.RunningClock: a server clock that starts at a fixed instant and runs."""

from __future__ import annotations

import time

import pytest

from hub.sandbox.clock import RunningClock

START = 1_735_689_600.0  # 2025-01-01


def test_it_starts_at_its_instant_whatever_the_machines_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(time, "time", lambda: 2_000_000_000.0)
    assert RunningClock(START)() == pytest.approx(START, abs=1)


def test_it_runs_with_real_time_and_moves_on_when_advanced() -> None:
    clock = RunningClock(START)
    first = clock()
    time.sleep(0.01)
    second = clock()
    clock.advance(600)
    assert first < second < first + 5
    assert clock() == pytest.approx(second + 600, abs=5)
