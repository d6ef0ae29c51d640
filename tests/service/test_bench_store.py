"""bench/store.py still runs (at a size that takes seconds), so the figure it prints can be
reproduced."""

from __future__ import annotations

from tests.support.processes import run_bench


def test_the_store_benchmark_runs_at_a_small_size() -> None:
    lines = run_bench(
        "store.py",
        *("--workloads", "20", "--nodes", "2", "--runs", "1", "--batch", "10", "--mib", "0.2"),
    )
    assert lines[0].startswith("46 subgraphs (20 workloads, 2 nodes)")
    medians = [line.split(":")[0] for line in lines if line.startswith("create all")]
    assert [label.rstrip() for label in medians] == [
        "create all, on disk, one transaction each",
        "create all, on disk, put_many of 10",
        "create all, the same N-Quads, bulk loads of 10",
        "create all, the same N-Quads, `oxigraph load`",
        "create all, the same N-Quads, bulk loads of 0.2 MiB",
        "create all, in memory, one transaction each",
    ]
    assert sum(line.startswith("  run 1, ") for line in lines) == len(medians)
