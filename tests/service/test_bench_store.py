"""bench/store.py still runs (at a size that takes seconds), so the figure it prints can be
reproduced."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_store_benchmark_runs_at_a_small_size() -> None:
    small = ["--workloads", "20", "--nodes", "2", "--runs", "1"]
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "store.py"), *small],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("46 subgraphs (20 workloads, 2 nodes)")
    assert lines[1].startswith("  create all, on disk  : median")
    assert lines[2].startswith("  create all, in memory: median")
