"""bench/store.py still runs (at a size that takes seconds), so the figure it prints can be
reproduced."""

from __future__ import annotations

from tests.support.processes import run_bench


def test_the_store_benchmark_runs_at_a_small_size() -> None:
    lines = run_bench(
        "store.py", "--workloads", "20", "--nodes", "2", "--runs", "1", "--batch", "10"
    )
    assert lines[0].startswith("46 subgraphs (20 workloads, 2 nodes)")
    assert lines[1].startswith("  create all, on disk               : median")
    assert lines[2].startswith("  create all, on disk, batches of 10: median")
    assert lines[3].startswith("  create all, in memory             : median")
