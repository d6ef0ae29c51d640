"""Backfill into the real reference Metadata Service over HTTP, and the embedded store being the
service's own: a directory a backfill wrote is served as it is."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kg_exporter.render.renderer import Renderer
from kg_exporter.settings import SinkSettings
from kg_exporter.sink import open_sink
from tests.backfill.conftest import EXAMPLE_SUBGRAPHS, RunBackfill, canonical, example_subgraphs
from tests.backfill.test_prune import WEB, copy_examples
from tests.conftest import EXAMPLES
from tests.sink.servers import Server, reference_service


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Server]:
    with reference_service(tmp_path / "service-store", log=tmp_path / "service.log") as server:
        yield server


def everything(url: str) -> dict[str, dict[str, Any]]:
    async def read() -> dict[str, dict[str, Any]]:
        sink = open_sink(SinkSettings.model_validate({"url": url}))
        try:
            return {i: await sink.get(i) or {} for i in await sink.list()}
        finally:
            await sink.aclose()

    return asyncio.run(read())


def test_examples_into_the_reference_service_twice(
    run_backfill: RunBackfill, service: Server, renderer: Renderer
) -> None:
    run = run_backfill("--manifests", str(EXAMPLES), "--sink", service.url, "--concurrency", "4")
    assert run.code == 0, run.err
    assert f"into the Metadata Service at {service.url}: {EXAMPLE_SUBGRAPHS} written" in run.out
    assert "where the telemetry of Deployment/shop/web lives" in run.out
    first = everything(service.url)
    expected = example_subgraphs(renderer)
    assert set(first) == set(expected)
    for subgraph_id, subgraph in expected.items():
        assert canonical(first[subgraph_id]) == canonical(subgraph.document)
    # The reference service marks a PUT that changed nothing, so a second run writes nothing:
    # from its memory of the last bodies first, then after a restart (memory lost) by comparing
    # with what its store holds.
    again = run_backfill("--manifests", str(EXAMPLES), "--sink", service.url)
    assert again.code == 0
    assert f"0 written, {EXAMPLE_SUBGRAPHS} unchanged" in again.out
    assert everything(service.url) == first


def test_a_restarted_service_still_knows_what_is_unchanged(
    run_backfill: RunBackfill, tmp_path: Path
) -> None:
    store, log = tmp_path / "store", tmp_path / "service.log"
    with reference_service(store, log=log) as service:
        assert run_backfill("--manifests", str(EXAMPLES), "--sink", service.url).code == 0
    with reference_service(store, log=log) as service:
        again = run_backfill("--manifests", str(EXAMPLES), "--sink", service.url)
        assert again.code == 0, again.err
        assert f"0 written, {EXAMPLE_SUBGRAPHS} unchanged" in again.out
        changed = copy_examples(tmp_path / "now", without=set())
        deployments = changed / "cluster" / "deployments.yaml"
        deployments.write_text(deployments.read_text().replace("replicas: 3", "replicas: 4", 1))
        third = run_backfill("--manifests", str(changed), "--sink", service.url)
        assert third.code == 0, third.err
        assert f"1 written, {EXAMPLE_SUBGRAPHS - 1} unchanged" in third.out


def test_prune_through_the_service(
    run_backfill: RunBackfill, service: Server, tmp_path: Path
) -> None:
    assert run_backfill("--manifests", str(EXAMPLES), "--sink", service.url).code == 0
    smaller = copy_examples(tmp_path / "now", without={("Deployment", "shop", "web")})
    run = run_backfill("--manifests", str(smaller), "--sink", service.url, "--prune")
    assert run.code == 0, run.err
    assert f"pruned: 1 no longer existing, now marked stopped:\n  {WEB}\n" in run.out
    assert '"kgx:phase":"stopped"' in httpx.get(f"{service.url}/subgraph/{WEB}").text


def test_a_store_written_by_backfill_is_served_as_it_is(
    run_backfill: RunBackfill, tmp_path: Path, renderer: Renderer
) -> None:
    store = tmp_path / "store"
    assert run_backfill("--manifests", str(EXAMPLES), "--store", str(store)).code == 0
    with reference_service(store, log=tmp_path / "served.log") as served:
        assert httpx.get(f"{served.url}/healthz").json()["subgraphs"] == EXAMPLE_SUBGRAPHS
        held = everything(served.url)
    for subgraph_id, subgraph in example_subgraphs(renderer).items():
        assert canonical(held[subgraph_id]) == canonical(subgraph.document)
