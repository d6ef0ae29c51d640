"""`kg-exporter render` and its exit codes, run as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import EXAMPLES, ROOT


def kg(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kg_exporter.cli", *args],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, **(env or {})}, timeout=120,
    )  # fmt: skip


def test_render_examples_jsonld() -> None:
    result = kg("render", str(EXAMPLES))
    assert result.returncode == 0, result.stderr
    subgraphs = json.loads(result.stdout)["subgraphs"]
    kinds = [s["kind"] for s in subgraphs]
    # 9 workloads of examples/cluster, 8 of examples/kinds (children folded into their owners), 3
    # nodes, one glaciation node; two subgraphs each.
    assert kinds.count("workload") == kinds.count("workload-telemetry") == 17
    assert kinds.count("node") == kinds.count("node-telemetry") == 3
    assert kinds.count("glaciation-node") == kinds.count("glaciation-node-telemetry") == 1
    assert "skipped: kind 'ConfigMap' is not exported" in result.stderr


def test_render_nquads_and_turtle() -> None:
    nquads = kg("render", "--format", "nquads", str(EXAMPLES / "cluster" / "jobs.yaml"))
    assert nquads.returncode == 0, nquads.stderr
    graphs = {line.rsplit(" ", 2)[-2] for line in nquads.stdout.splitlines() if line}
    assert "<urn:kg-exporter:subgraph:cluster1:workload:job:shop:nightly-report>" in graphs
    turtle = kg("render", "--format", "turtle", str(EXAMPLES / "cluster" / "nodes.yaml"))
    assert turtle.returncode == 0, turtle.stderr
    assert "# subgraph cluster1:node:gpu-1 (node)" in turtle.stdout


def test_unreadable_input_is_an_error_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: [\n")
    result = kg("render", str(bad), str(EXAMPLES / "cluster" / "jobs.yaml"))
    assert result.returncode == 1
    assert f"error: {bad}:" in result.stderr
    assert len(json.loads(result.stdout)["subgraphs"]) == 8  # the good file still rendered


def test_wrong_setting_is_one_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("labels: {pod: 'not a label'}\n")
    result = kg("render", "--config", str(config), str(EXAMPLES))
    assert result.returncode == 2
    assert result.stderr.strip().startswith("kg-exporter: setting 'labels.pod'")
    env = kg("render", str(EXAMPLES), env={"KG_EXPORTER_PROMETHEUS_URL": "not a url"})
    assert env.returncode == 2
    assert "KG_EXPORTER_PROMETHEUS_URL" in env.stderr
