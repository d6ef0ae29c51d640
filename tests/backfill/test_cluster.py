"""Backfill from a cluster: the daemon's own listing (paged, every watched kind, the configured
namespaces) against the fake API server, which the real client talks to over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kg_exporter.kinds import NODE_KIND, bundled_registry
from tests.backfill.conftest import EXAMPLE_SUBGRAPHS, RunBackfill, stored
from tests.conftest import example_objects
from tests.daemon.objects import WIDGET_ENTRY
from tests.fakekube.control import FakeKube
from tests.kinds.crds import install_bundled_crds


@pytest.fixture
def cluster() -> Iterator[FakeKube]:
    """The example cluster in a fake API server (statuses set as the controllers would)."""
    with FakeKube(validate=False) as fake:
        install_bundled_crds(fake)
        for obj in example_objects():
            kind = obj["kind"]
            if kind not in bundled_registry() and kind != NODE_KIND:
                continue
            fake.create(obj)
            if kind != NODE_KIND and obj.get("status"):
                meta = obj["metadata"]
                fake.patch_status(kind, meta.get("namespace"), meta["name"], obj["status"])
        yield fake


def test_the_cluster_is_backfilled_like_the_manifests_of_it(
    run_backfill: RunBackfill, cluster: FakeKube, tmp_path: Path
) -> None:
    from_cluster = tmp_path / "from-cluster"
    # Pages of 2 objects: every listing takes several `continue` round trips.
    config: dict[str, Any] = {"daemon": {"list_page_size": 2}}
    run = run_backfill(
        "--kubeconfig", str(cluster.kubeconfig_path), "--store", str(from_cluster), config=config
    )
    assert run.code == 0, run.err
    assert f"from the cluster of {cluster.kubeconfig_path}" in run.out
    assert f"{EXAMPLE_SUBGRAPHS} written" in run.out
    assert cluster.request_count("list", "/apis/apps/v1/deployments") >= 2
    ids = set(stored(from_cluster))
    assert "cluster1:workload:statefulset:streaming:kafka" in ids
    assert "cluster1:node-telemetry:gpu-1" in ids
    assert len(ids) == EXAMPLE_SUBGRAPHS


def test_prune_in_a_cluster_is_limited_to_the_watched_namespaces(
    run_backfill: RunBackfill, cluster: FakeKube, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    kubeconfig = str(cluster.kubeconfig_path)
    assert run_backfill("--kubeconfig", kubeconfig, "--store", str(store)).code == 0
    cluster.delete("Deployment", "shop", "web")
    cluster.delete("Deployment", "ml", "inference")
    # Only `shop` is watched: the inference Deployment in `ml` is not ours to judge.
    run = run_backfill(
        "--kubeconfig",
        kubeconfig,
        "--store",
        str(store),
        "--prune",
        config={"namespaces": ["shop"]},
    )
    assert run.code == 0, run.err
    assert "pruned: 1 no longer existing, now marked stopped:\n" in run.out
    assert "  cluster1:workload:deployment:shop:web\n" in run.out
    assert "inference" not in run.out.split("pruned:")[1].split("\n\n")[0]


def test_a_cluster_that_refuses_the_listing_is_a_connection_error(
    run_backfill: RunBackfill, cluster: FakeKube, tmp_path: Path
) -> None:
    cluster.fail_next_requests(100, status=403, verb="list")
    run = run_backfill("--kubeconfig", str(cluster.kubeconfig_path), "--store", str(tmp_path / "s"))
    assert run.code == 2
    assert "cannot list the cluster: HTTP 403" in run.err


def test_a_kind_the_cluster_does_not_serve_is_a_note_and_the_rest_is_exported(
    run_backfill: RunBackfill, cluster: FakeKube, tmp_path: Path
) -> None:
    # Widget configured as users do (a settings entry); no CRD of it in the cluster.
    entry = WIDGET_ENTRY.model_dump(mode="json", by_alias=True, exclude_none=True)
    store = tmp_path / "s"
    run = run_backfill(
        "--kubeconfig", str(cluster.kubeconfig_path), "--store", str(store),
        config={"kinds": [entry]},
    )  # fmt: skip
    assert run.code == 0, run.err
    assert (
        "note: Widget (widgets.example.com, versions v1beta1, v1alpha1) is not served by this "
        "cluster: none exported"
    ) in run.err
    assert len(stored(store)) == EXAMPLE_SUBGRAPHS
    assert cluster.request_count("list", "/apis/example.com") == 0
