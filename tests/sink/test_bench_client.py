"""bench/sink_client.py still runs (at a size that takes seconds), so the figures it prints can
be reproduced."""

from __future__ import annotations

import re

from tests.support.processes import run_bench


def test_the_client_design_benchmark_runs_at_a_small_size() -> None:
    lines = run_bench("sink_client.py", "--runs", "1", "--count", "100")
    assert lines[0].startswith("client CPU per subgraph written to oxigraph serve, 32 in flight")
    names = [re.match(r"  (\S+) +median +\d+ us", line) for line in lines[1:]]
    assert [match.group(1) for match in names if match] == [
        "sink",
        "sink-batched",
        "httpx-client",
        "lean-httpx",
        "raw-aiohttp",
    ]
