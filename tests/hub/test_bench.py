"""``hub bench sync``: what its figures are measured against, on a tiny sandbox (real
subprocesses and loopback HTTP, as the command runs them)."""

from __future__ import annotations

import pytest

from hub.bench import bench_sync
from hub.errors import HubError


async def test_the_engine_is_measured_against_a_bare_decode_of_the_same_requests() -> None:
    report = await bench_sync("zendesk", records=40, seed=3)

    fetch, engine = report["fetch"], report["engine"]
    assert fetch["decode"]["requests"] == fetch["requests"] > 0
    assert fetch["decode"]["records"] == fetch["records"] == engine["records"]
    assert engine["cpu_ms_per_record"] > 0
    assert report["engine_vs_decode"] > 0
    # The re-sync follows the stored cursors and finds nothing changed.
    assert engine["resync"]["written"] == 0
    assert report["resync_vs_sync"] is not None


async def test_an_unknown_phase_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(HubError, match="fetch"):
        await bench_sync("zendesk", records=40, seed=3, phases=["engine", "warmup"])


async def test_the_refreshes_reread_everything_and_write_only_what_the_sandbox_changed() -> None:
    report = await bench_sync("zendesk", records=40, seed=3, phases=["engine"],
                              refresh_changed_percent=10)  # fmt: skip

    engine = report["engine"]
    refresh, changed = engine["refresh"], engine["refresh_changed"]
    assert refresh["records"] == changed["records"] == engine["records"]
    assert refresh["written"] == 0
    assert refresh["unchanged"] == engine["records"] - engine["quarantined"]
    assert engine["changed_tickets"] == 4  # 10 % of 40
    assert changed["written"] >= engine["changed_tickets"]
    assert report["refresh_vs_sync_cpu"] > 0 and report["refresh_changed_vs_sync_cpu"] > 0


async def test_the_saved_phase_syncs_what_the_live_engine_syncs_without_a_request() -> None:
    report = await bench_sync("zendesk", records=40, seed=3, phases=["engine", "saved"])

    engine, saved = report["engine"], report["saved"]
    assert saved["requests"] == 0 < engine["requests"]
    for count in ("records", "written", "quarantined", "deleted"):
        assert saved[count] == engine[count], count
    assert saved["saved_pages_mb"] > 0 and "resync" not in saved
