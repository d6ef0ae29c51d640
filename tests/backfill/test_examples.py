"""The README's main job: backfill the bundled examples into the embedded store, then see what the
graph holds. A second run writes the same subgraphs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kg_exporter.render.renderer import Renderer
from tests.backfill.conftest import (
    EXAMPLE_SUBGRAPHS,
    RunBackfill,
    canonical,
    example_subgraphs,
    stored,
)
from tests.conftest import EXAMPLES


def test_examples_go_into_the_default_store_and_the_summary_shows_the_graph(
    run_backfill: RunBackfill, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    run = run_backfill("--manifests", str(EXAMPLES))
    assert run.code == 0, run.err
    assert f"into the store kg-store: {EXAMPLE_SUBGRAPHS} written, 0 unchanged, 0 failed" in run.out
    lines = run.out.splitlines()
    assert "workload                        17     17          0       0" in lines
    assert "glaciation-node-telemetry        1      1          0       0" in lines
    assert "total                           42     42          0       0" in lines
    # What the graph holds, read back through the store: counts, then one workload's telemetry.
    assert f"in the graph now for cluster cluster1: {EXAMPLE_SUBGRAPHS} subgraphs" in run.out
    assert "where the telemetry of Deployment/shop/web lives" in run.out
    assert "Prometheus http://prometheus.monitoring.svc:9090" in run.out
    assert '100 * sum(rate(container_cpu_usage_seconds_total{namespace="shop"' in run.out
    assert 'Loki http://loki.monitoring.svc:3100\n    {namespace="shop",pod=~"web-' in run.out
    assert "/d/kg-workload?var-namespace=shop&var-workload=web&var-kind=Deployment" in run.out
    # Notes and progress go to stderr, so stdout is only the summary.
    assert "skipped objects of kinds that are not exported: ConfigMap 1, Pod 2, Secret 1" in run.err
    assert f"backfill: {EXAMPLE_SUBGRAPHS}/{EXAMPLE_SUBGRAPHS} subgraphs (100%)" in run.err
    assert (tmp_path / "kg-store").is_dir()


def test_the_store_holds_exactly_what_was_rendered(
    run_backfill: RunBackfill, tmp_path: Path, renderer: Renderer
) -> None:
    store = tmp_path / "store"
    assert run_backfill("--manifests", str(EXAMPLES), "--store", str(store)).code == 0
    documents = stored(store)
    expected = example_subgraphs(renderer)
    assert set(documents) == set(expected)
    for subgraph_id, subgraph in expected.items():
        assert canonical(documents[subgraph_id]) == canonical(subgraph.document), subgraph_id


def test_a_second_run_writes_the_same_subgraphs(run_backfill: RunBackfill, tmp_path: Path) -> None:
    store = tmp_path / "store"
    assert run_backfill("--manifests", str(EXAMPLES), "--store", str(store)).code == 0
    first = stored(store)
    again = run_backfill("--manifests", str(EXAMPLES), "--store", str(store))
    assert again.code == 0
    assert f"0 written, {EXAMPLE_SUBGRAPHS} unchanged, 0 failed" in again.out
    assert "total                            0      0         42       0" in again.out.splitlines()
    assert stored(store) == first


def test_a_changed_object_is_written_again(run_backfill: RunBackfill, tmp_path: Path) -> None:
    store = tmp_path / "store"
    manifests = tmp_path / "examples"
    shutil.copytree(EXAMPLES, manifests)
    assert run_backfill("--manifests", str(manifests), "--store", str(store)).code == 0
    deployments = manifests / "cluster" / "deployments.yaml"
    deployments.write_text(deployments.read_text().replace("nginx:1.27.2", "nginx:1.27.9"))
    run = run_backfill("--manifests", str(manifests), "--store", str(store))
    assert run.code == 0
    assert f"1 written, {EXAMPLE_SUBGRAPHS - 1} unchanged" in run.out
    web = stored(store)["cluster1:workload:deployment:shop:web"]
    assert "nginx:1.27.9" in str(web)
