"""docs/graph-model.md's pictures are drawn from the project's own output and never go stale."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

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


@pytest.fixture(scope="module")
def script() -> ModuleType:
    """The script as a module: one import for the calls below (each run renders examples/)."""
    spec = importlib.util.spec_from_file_location("graph_model_diagram", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_diagram_in_the_doc_is_up_to_date() -> None:
    result = _run("--check")
    assert result.returncode == 0, result.stderr + result.stdout


def test_a_stale_diagram_is_detected_and_redrawn(
    script: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = tmp_path / "graph-model.md"
    doc.write_text(
        "# x\n\n<!-- diagram:start -->\nold\n<!-- diagram:end -->\n\nrest\n"
        "<!-- classes:start -->\n<!-- classes:end -->\n",
        encoding="utf-8",
    )
    assert script.main(["--check", "--doc", str(doc)]) == 1
    assert "stale; run: python scripts/graph_model_diagram.py" in capsys.readouterr().err
    assert script.main(["--doc", str(doc)]) == 0
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# x\n\n<!-- diagram:start -->\n```mermaid\nflowchart LR\n")
    assert "```\n<!-- diagram:end -->\n\nrest\n<!-- classes:start -->\n```mermaid\n" in text
    assert text.endswith("```\n<!-- classes:end -->\n")
    assert "kgx:hasTelemetry" in text and "kgx:telemetryOf" in text
    classes = text.split("<!-- classes:start -->")[1]
    # Every bundled kind's class, and the links the kinds brought: part of, uses and produces data.
    for curie in ("k8s:DaemonSetWorkload", "kgx:CronJobWorkload", "kgx:JobSetWorkload",
                  "kgx:MetricSetWorkload", "kgx:MiniClusterWorkload", "kgx:EnsembleWorkload"):  # fmt: skip
        assert f"<b>{curie}</b>" in classes, curie
    assert '-->|"kgx:partOf"|' in classes
    assert '-->|"kgx:dependsOnData<br/>kgx:producesData"|' in classes
    assert script.main(["--check", "--doc", str(doc)]) == 0


def test_a_doc_without_the_class_markers_is_refused(script: ModuleType, tmp_path: Path) -> None:
    doc = tmp_path / "graph-model.md"
    doc.write_text("<!-- diagram:start -->\n<!-- diagram:end -->\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="markers <!-- classes:start -->"):
        script.main(["--check", "--doc", str(doc)])
