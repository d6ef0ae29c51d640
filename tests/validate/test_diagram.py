"""docs/graph-model.md's picture is drawn from the project's own output and never goes stale."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "graph_model_diagram.py"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KG_EXPORTER_")}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def test_the_diagram_in_the_doc_is_up_to_date() -> None:
    result = _run("--check")
    assert result.returncode == 0, result.stderr + result.stdout


def test_a_stale_diagram_is_detected_and_redrawn(tmp_path: Path) -> None:
    doc = tmp_path / "graph-model.md"
    doc.write_text(
        "# x\n\n<!-- diagram:start -->\nold\n<!-- diagram:end -->\n\nrest\n", encoding="utf-8"
    )
    stale = _run("--check", "--doc", str(doc))
    assert stale.returncode == 1
    assert "stale; run: python scripts/graph_model_diagram.py" in stale.stderr
    assert _run("--doc", str(doc)).returncode == 0
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# x\n\n<!-- diagram:start -->\n```mermaid\nflowchart LR\n")
    assert text.endswith("```\n<!-- diagram:end -->\n\nrest\n")
    assert "kgx:hasTelemetry" in text and "kgx:telemetryOf" in text
    assert _run("--check", "--doc", str(doc)).returncode == 0
