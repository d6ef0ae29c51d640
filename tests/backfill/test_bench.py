"""bench/backfill.py still runs (at a size that takes seconds), so the figure it prints can be
reproduced."""

from __future__ import annotations

from pathlib import Path

from tests.support.processes import run_bench


def test_the_benchmark_runs_end_to_end_at_a_small_size() -> None:
    lines = run_bench("backfill.py", "--workloads", "30", "--nodes", "3", "--runs", "1", "--again")
    assert lines[0].startswith("30 workloads + 3 nodes = 68 subgraphs")
    assert "(68 written, 0 unchanged, 0 failed" in lines[1]
    assert lines[2].startswith("  again 1:")
    assert "(0 written, 68 unchanged, 0 failed" in lines[2]  # the service says so
    assert any(line.startswith("median: ") for line in lines)


def test_a_baseline_checkout_is_timed_beside_in_each_run() -> None:
    # This very checkout as its own baseline: the code path, not a comparison.
    root = str(Path(__file__).resolve().parents[2])
    lines = run_bench(
        "backfill.py", "--workloads", "30", "--nodes", "3", "--runs", "1", "--baseline", root
    )
    assert lines[1].startswith("run 1: ") and "(main " in lines[1] and "workers " in lines[1]
    baseline = [line for line in lines if line.startswith(f"  baseline {root}: ")]
    assert len(baseline) == 1 and "(68 written, 0 unchanged, 0 failed" in baseline[0]
    assert any(
        line.startswith(f"baseline {root}: backfill / oxigraph load, median") for line in lines
    )
