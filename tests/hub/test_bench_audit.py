"""`hub bench audit`: reveals timed one after another and by many tasks at once; the prune
it times (`--prune-entries`) leaves a trail that verifies."""

from __future__ import annotations

from hub.bench_audit import bench_audit


async def test_the_prune_bench_prunes_old_entries_and_the_trail_still_verifies() -> None:
    result = await bench_audit(reveals=0, verify_entries=0, database_url=None, prune_entries=2_500)
    prune = result["prune"]
    assert prune["entries_pruned"] == 2_500  # all old ones: a checkpoint follows the last
    assert prune["verify_ok_after"] and prune["inclusion_proof_ok_after"]


async def test_the_reveal_bench_times_sequential_and_concurrent_reveals() -> None:
    result = await bench_audit(reveals=200, verify_entries=0, database_url=None, concurrency=16)
    reveals = result["reveals"]
    assert reveals["sequential"]["per_second"] > 0 and reveals["concurrent"]["tasks"] == 16
    assert reveals["concurrent"]["batches"] < 200  # the 16 tasks' reveals shared batches
