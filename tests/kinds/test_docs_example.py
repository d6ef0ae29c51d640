"""docs/kinds.md's worked example, run exactly as written: its settings file, its objects and its
command, in a scratch directory, with the real CLI."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import ROOT

DOC = ROOT / "docs" / "kinds.md"


def block(name: str) -> str:
    """The fenced block right after ``<!-- example: name -->``."""
    match = re.search(rf"<!-- example: {name} -->\n```[a-z]*\n(.*?)```", DOC.read_text(), re.S)
    assert match is not None, f"no {name} block in {DOC}"
    return match.group(1)


def test_the_rayjob_example_renders_as_the_page_says(tmp_path: Path) -> None:
    (tmp_path / "settings.yaml").write_text(block("settings"))
    (tmp_path / "rayjob.yaml").write_text(block("objects"))
    command = shlex.split(block("command").strip())
    assert command[0] == "kg-exporter"
    result = subprocess.run(
        [sys.executable, "-m", "kg_exporter.cli", *command[1:]],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    subgraphs = {s["id"]: s["document"] for s in json.loads(result.stdout)["subgraphs"]}
    workloads = [i for i in subgraphs if ":workload:" in i]
    assert workloads == ["cluster1:workload:rayjob:ray:tune"], "the submitter Job is folded in"
    graph: list[dict[str, Any]] = subgraphs[workloads[0]]["@graph"]
    workload, status = graph[0], next(n for n in graph if n.get("@type") == "glc:Status")
    assert "kgx:RayJobWorkload" in workload["@type"]
    assert (status["kgx:phase"], status["kgx:outcome"]) == ("stopped", "succeeded")
    assert status["glc:startTime"]["@value"] == "2026-11-21T09:00:12Z"
    assert status["glc:endTime"]["@value"] == "2026-11-21T09:41:30Z"
    containers = sorted(c["@id"].split("/container/")[1] for c in workload["kgx:hasContainer"])
    assert containers == ["gpu/ray-worker", "head/ray-head"]
    telemetry = json.dumps(subgraphs["cluster1:workload-telemetry:rayjob:ray:tune"])
    random = "[bcdfghjklmnpqrstvwxz2456789]{5}"
    pods = f"tune-raycluster-{random}-(?:head|(?:head|gpu)-worker)-{random}"
    matcher = f'pod=~\\"{pods}\\"'
    assert matcher in telemetry
    assert 'namespace=\\"ray\\"' in telemetry
    # What the page says the command prints.
    assert "`head/ray-head` and `gpu/ray-worker`" in DOC.read_text()
    assert f'pod=~"{pods}"' in DOC.read_text()
