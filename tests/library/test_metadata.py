"""MetadataClient: telemetry by identity, and what a poller walks, through any Sink (here the
embedded store a backfill writes; the HTTP sinks in test_read_path.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from kg_exporter import (
    MetadataClient,
    ObjectKey,
    Renderer,
    SettingsError,
    Subgraph,
    TelemetryParseError,
    open_store,
    render_objects,
)
from tests.conftest import example_objects


@pytest.fixture
async def metadata(renderer: Renderer) -> AsyncIterator[MetadataClient]:
    sink = open_store(":memory:")
    for subgraph in render_objects(((o, "t") for o in example_objects()), renderer):
        if isinstance(subgraph, Subgraph):
            await sink.put(subgraph.id, subgraph.document)
    async with MetadataClient(sink, owns_sink=True) as client:
        yield client


async def test_telemetry_by_identity(metadata: MetadataClient) -> None:
    web = await metadata.workload_telemetry("cluster1", "Deployment", "shop", "web")
    assert web is not None
    assert web.subject == "https://kg-exporter.example.org/cluster1/deployment/shop/web"
    assert web.logql == '{namespace="shop",pod=~"web-[456789bcdf]{1,10}-[bcdfghjklmnpqrstvwxz2456789]{5}"}'
    kafka = await metadata.workload_telemetry("cluster1", "StatefulSet", "streaming", "kafka")
    assert kafka is not None and kafka.logql == '{namespace="streaming",pod=~"kafka-(?:0|[1-9][0-9]*)"}'
    gpu = await metadata.node_telemetry("cluster1", "gpu-1")
    assert gpu is not None and gpu.metric("gpu_utilization").unit_label == "%"
    gnode = await metadata.glaciation_node_telemetry("cluster1", "glaciation-node1")
    assert gnode is not None and gnode.loki_url is None and len(gnode.metrics) == 7


async def test_what_is_not_there_is_none(metadata: MetadataClient) -> None:
    assert await metadata.workload_telemetry("cluster1", "Deployment", "shop", "nope") is None
    assert await metadata.workload_telemetry("cluster2", "Deployment", "shop", "web") is None
    assert await metadata.node_telemetry("cluster1", "worker-9") is None


async def test_a_subgraph_that_is_not_telemetry_is_a_parse_error(
    metadata: MetadataClient,
) -> None:
    assert await metadata.subgraph("cluster1:workload:deployment:shop:web") is not None
    with pytest.raises(TelemetryParseError, match="no telemetry node"):
        await metadata.telemetry("cluster1:node:gpu-1")


async def test_a_poller_walks_the_workloads_and_nodes(metadata: MetadataClient) -> None:
    workloads = await metadata.workloads("cluster1")
    assert ObjectKey("Deployment", "shop", "web") in workloads
    assert ObjectKey("StatefulSet", "streaming", "kafka") in workloads
    assert ObjectKey("Job", "ml", "train-forecast") in workloads
    assert len(workloads) == 17
    for key in workloads:
        assert key.namespace is not None
        assert await metadata.workload_telemetry("cluster1", key.kind, key.namespace, key.name)
    assert await metadata.nodes("cluster1") == ["gpu-1", "worker-1", "worker-2"]
    assert await metadata.workloads("cluster2") == []


async def test_names_that_need_encoding_round_trip() -> None:
    sink = open_store(":memory:")
    from kg_exporter import load_settings
    from tests.render import fixtures as f

    renderer = Renderer(load_settings())
    odd = f.deployment(name="we:b é", namespace="team/ü", availableReplicas=1)
    long = f.deployment(name="x" * 300, namespace="ns", availableReplicas=1)
    for obj in (odd, long):
        for subgraph in renderer.workload(obj):
            await sink.put(subgraph.id, subgraph.document)
    async with MetadataClient(sink, owns_sink=True) as metadata:
        # The 300-character name is kept in the id only as a digest: left out of the walk.
        assert await metadata.workloads("cluster1") == [ObjectKey("Deployment", "team/ü", "we:b é")]
        assert await metadata.workload_telemetry("cluster1", "Deployment", "ns", "x" * 300)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"url": "not a url"}, "url"),
        ({"url": "http://ms:8080", "kind": "sparql"}, "kind"),
        ({"url": "http://ms:8080", "timeout_seconds": 0}, "timeout_seconds"),
    ],
)
def test_connect_refuses_bad_settings(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        MetadataClient.connect(**kwargs)
