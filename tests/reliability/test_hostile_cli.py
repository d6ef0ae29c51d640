"""Issue 17, the command line: input the readers cannot read is an input error everywhere, so a
``--prune`` never marks stopped what it could not see; one bad file never aborts the rest; and a
template cannot reach Python's internals.

An unreadable directory needs a process the kernel checks permissions for: as root (the
development machine, most CI containers) the commands run under ``setpriv`` without the
capabilities that bypass them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.sink.servers import Server, reference_service
from tests.support.processes import IN_CI

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "cluster"
WITHOUT_OVERRIDE = ["--inh-caps=-dac_override,-dac_read_search"]
WITHOUT_OVERRIDE += ["--bounding-set=-dac_override,-dac_read_search"]


def _as_checked_user() -> list[str]:
    """The argv prefix that makes permission bits apply to the command."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        message = "running as root and util-linux's setpriv is not installed"
        if IN_CI:
            pytest.fail(message + " — required under CI=true")
        pytest.skip(message)
    return [setpriv, *WITHOUT_OVERRIDE]


def cli(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_as_checked_user(), sys.executable, "-m", "kg_exporter.cli", *argv],
        capture_output=True, text=True, cwd=cwd, timeout=120,
    )  # fmt: skip


@pytest.fixture
def manifests(tmp_path: Path) -> Iterator[Path]:
    """Jobs at the top; Deployments, StatefulSets and Nodes in ``more/`` (made unreadable by the
    tests, made readable again after them so pytest can clean up)."""
    top = tmp_path / "manifests"
    (top / "more").mkdir(parents=True)
    shutil.copy(EXAMPLES / "jobs.yaml", top)
    for name in ("deployments.yaml", "statefulsets.yaml", "nodes.yaml"):
        shutil.copy(EXAMPLES / name, top / "more")
    yield top
    (top / "more").chmod(0o755)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Server]:
    with reference_service(tmp_path / "store", log=tmp_path / "service.log") as server:
        yield server


def running(url: str) -> set[str]:
    """Ids of the stored workload and node subgraphs whose status says running."""
    found = set()
    with httpx.Client(base_url=url, timeout=30) as client:
        for prefix in ("cluster1:workload:", "cluster1:node:"):
            for subgraph_id in client.get("/subgraph", params={"prefix": prefix}).json():
                text = client.get(f"/subgraph/{subgraph_id}").text
                if '"kgx:phase":"running"' in text.replace(" ", ""):
                    found.add(subgraph_id)
    return found


def test_prune_refuses_when_a_directory_cannot_be_listed(
    manifests: Path, service: Server, tmp_path: Path
) -> None:
    """The issue's case: exit 0 and 8 running workloads and nodes marked stopped."""
    first = cli("backfill", "--manifests", str(manifests), "--sink", service.url, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    before = running(service.url)
    assert len(before) >= 8, before  # those of more/ among them

    (manifests / "more").chmod(0)
    pruned = cli(
        "backfill", "--manifests", str(manifests), "--sink", service.url, "--prune", cwd=tmp_path
    )
    assert pruned.returncode == 1, pruned.stdout + pruned.stderr
    assert f"{manifests / 'more'}: cannot list: Permission denied" in pruned.stderr
    assert "Traceback" not in pruned.stderr
    assert running(service.url) == before, "a prune marked unseen workloads stopped"


def test_render_reports_an_unlistable_directory_and_renders_the_rest(
    manifests: Path, tmp_path: Path
) -> None:
    (manifests / "more").chmod(0)
    result = cli("render", str(manifests), cwd=tmp_path)
    assert result.returncode == 1
    assert f"error: {manifests / 'more'}: cannot list: Permission denied" in result.stderr
    assert '"kind": "workload"' in result.stdout  # the Jobs at the top were rendered


def test_an_unreadable_file_is_an_error_and_the_rest_is_rendered(
    manifests: Path, tmp_path: Path
) -> None:
    (manifests / "more" / "nodes.yaml").chmod(0)
    result = cli("render", str(manifests), cwd=tmp_path)
    assert result.returncode == 1
    assert "nodes.yaml: cannot read" in result.stderr
    assert "deployment" in result.stdout and "job" in result.stdout


def test_a_json_file_nested_100000_deep_does_not_abort_the_directory(
    manifests: Path, tmp_path: Path
) -> None:
    (manifests / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    result = subprocess.run(
        [sys.executable, "-m", "kg_exporter.cli", "render", str(manifests)],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert "deep.json: not valid JSON: nested too deeply" in result.stderr
    assert "Traceback" not in result.stderr
    assert "deployment" in result.stdout and "job" in result.stdout


def test_a_template_cannot_run_commands(manifests: Path, tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    marker = tmp_path / "ran"
    (templates / "workload.json.j2").write_text(
        "{{ cycler.__init__.__globals__.os.popen('touch " + str(marker) + "').read() }}"
    )
    config = tmp_path / "config.yaml"
    config.write_text(f"template_dir: {templates}\n")
    result = subprocess.run(
        [sys.executable, "-m", "kg_exporter.cli", "render", str(manifests), "--config", str(config)],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert not marker.exists(), "the template ran a command"
    assert result.returncode != 0
    assert "access to attribute '__init__' of 'type' object is unsafe" in result.stderr
    assert "Traceback" not in result.stderr
