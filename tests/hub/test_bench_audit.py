"""`hub bench audit --prune-entries`: the prune it times leaves a trail that verifies."""

from __future__ import annotations

from hub.bench_audit import bench_audit


async def test_the_prune_bench_prunes_old_entries_and_the_trail_still_verifies() -> None:
    result = await bench_audit(reveals=0, verify_entries=0, database_url=None, prune_entries=2_500)
    prune = result["prune"]
    assert prune["entries_pruned"] == 2_500  # all old ones: a checkpoint follows the last
    assert prune["verify_ok_after"] and prune["inclusion_proof_ok_after"]
