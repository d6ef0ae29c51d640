"""``--dry-run --out DIR``: the documents as files, through the same steps as a real run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kg_exporter.render.renderer import Renderer
from tests.backfill.conftest import EXAMPLE_SUBGRAPHS, RunBackfill, example_subgraphs
from tests.conftest import EXAMPLES


def test_dry_run_writes_one_file_per_subgraph_and_nothing_else(
    run_backfill: RunBackfill,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    renderer: Renderer,
) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    run = run_backfill("--manifests", str(EXAMPLES), "--dry-run", "--out", str(out))
    assert run.code == 0, run.err
    assert f"into files in {out}: {EXAMPLE_SUBGRAPHS} written" in run.out
    expected = example_subgraphs(renderer)
    files = sorted(p.name for p in out.iterdir())
    assert files == sorted(f"{i}.jsonld" for i in expected)
    for subgraph_id, subgraph in expected.items():
        assert json.loads((out / f"{subgraph_id}.jsonld").read_text()) == subgraph.document
    assert not (tmp_path / "kg-store").exists()  # a dry run touches no store
    # The summary reads back what was "written", as for a real run.
    assert "where the telemetry of Deployment/shop/web lives" in run.out


def test_a_second_dry_run_finds_every_file_unchanged(
    run_backfill: RunBackfill, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert run_backfill("--manifests", str(EXAMPLES), "--dry-run", "--out", str(out)).code == 0
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    run = run_backfill("--manifests", str(EXAMPLES), "--dry-run", "--out", str(out))
    assert f"0 written, {EXAMPLE_SUBGRAPHS} unchanged" in run.out
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before


def test_an_unwritable_out_directory_is_a_usage_error(
    run_backfill: RunBackfill, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    run = run_backfill("--manifests", str(EXAMPLES), "--dry-run", "--out", str(blocker / "out"))
    assert run.code == 2
    assert f"cannot create {blocker / 'out'}" in run.err
