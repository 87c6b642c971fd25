"""A process that opens a hub collects cyclic garbage less often; an operator's higher
threshold stands."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from hub.config import Settings
from hub.gc_tuning import FIRST_THRESHOLD, tune_for_sync
from hub.runtime import Hub


@pytest.fixture(autouse=True)
def restore_thresholds() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


async def test_opening_a_hub_raises_the_collectors_first_threshold(
    hub_settings: Settings,
) -> None:
    gc.set_threshold(700, 10, 10)  # CPython's default
    async with Hub.open(hub_settings, create=True):
        assert gc.get_threshold() == (FIRST_THRESHOLD, 10, 10)


def test_a_higher_threshold_set_before_is_kept() -> None:
    gc.set_threshold(50_000, 20, 5)
    tune_for_sync()
    assert gc.get_threshold() == (50_000, 20, 5)
