"""Writes the platform's readers can use, against the real GLACIATION Metadata Service: the
``glaciation`` sink (the design's subgraphs) and the profile's snapshot writer.

A retried PATCH is made with a proxy that delays the first attempt past the client's timeout and
then forwards it anyway: the service stores it after the retry's answer, which is the worst case
(an abandoned attempt normally lands first, the service taking requests in order). The timeout
leaves the retry time to be answered on a loaded machine (a retry timing out too would make a
third copy), and the tests wait for the late attempt's own answer, not for a count of copies.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from kg_exporter.glaciation.metrics import GlaciationMetrics
from kg_exporter.glaciation.writer import WRITE_PREFIX, WRITE_TYPE, SnapshotWriter
from kg_exporter.identity import subgraph_graph_iri
from kg_exporter.settings import SinkSettings
from kg_exporter.sink import PutOutcome, Sink, open_sink
from kg_exporter.sink.glaciation import DIGEST
from kg_exporter.sink.glaciation_api import open_glaciation_api
from tests.glaciation.service import GlaciationService
from tests.reliability.proxy import FaultProxy, Seen
from tests.sink.documents import same_graph, workload_document
from tests.support.processes import wait_until

FAST = {"timeout_seconds": 3.0, "backoff_initial_seconds": 0.05, "backoff_max_seconds": 0.1}
#: How late the first PATCH arrives: well past FAST's timeout.
LATE_SECONDS = 6.0


@pytest.fixture
def proxy(glaciation_service: GlaciationService) -> Iterator[FaultProxy]:
    with FaultProxy(glaciation_service.url, slow_seconds=LATE_SECONDS) as fault_proxy:
        yield fault_proxy


def late_attempt_landed(proxy: FaultProxy) -> None:
    """Until the service has answered the late first PATCH (it has stored it then)."""
    wait_until(lambda: proxy.delivered["slow"] == 1, timeout=120, what="the late attempt")


def first_patch_slow(proxy: FaultProxy) -> None:
    """The first PATCH arrives LATE_SECONDS late (after the client gave up); everything else at
    once."""
    delayed: list[Seen] = []

    def policy(seen: Seen) -> str | None:
        if seen.method == "PATCH" and not delayed:
            delayed.append(seen)
            return "slow"
        return None

    proxy.policy = policy


@pytest.fixture
async def sink(glaciation_service: GlaciationService) -> AsyncIterator[Sink]:
    sink = open_sink(SinkSettings(kind="glaciation", url=glaciation_service.url))
    yield sink
    await sink.aclose()


def graphs_of(service: GlaciationService, subgraph_id: str) -> list[str]:
    iri = subgraph_graph_iri(subgraph_id)
    rows = service.select(f"SELECT ?g WHERE {{ GRAPH ?g {{ <{iri}> <{DIGEST}> ?d }} }}")
    return [r["g"]["value"] for r in rows]


async def test_sink_unchanged_replaced_and_one_graph_per_subgraph(
    sink: Sink, glaciation_service: GlaciationService
) -> None:
    subgraph_id = f"t{uuid.uuid4().hex[:8]}:workload:deployment:shop:web"
    first, second = workload_document("web"), workload_document("web", replicas=5)
    assert await sink.put(subgraph_id, first) is PutOutcome.CREATED
    assert await sink.put(subgraph_id, first) is PutOutcome.UNCHANGED
    assert await sink.put(subgraph_id, second) is PutOutcome.REPLACED
    (graph,) = graphs_of(glaciation_service, subgraph_id)
    assert not graph.startswith("timestamp:"), "readers taking the newest graph must not get it"
    stored = await sink.get(subgraph_id)
    assert stored is not None and same_graph(stored, second)

    # A fresh sink (a restart) finds what is stored by its marker, and still says unchanged.
    again = open_sink(SinkSettings(kind="glaciation", url=glaciation_service.url))
    try:
        assert await again.put(subgraph_id, second) is PutOutcome.UNCHANGED
        assert await again.list(subgraph_id.split(":")[0]) == [subgraph_id]
        assert await again.delete(subgraph_id) is True
        assert await again.get(subgraph_id) is None
    finally:
        await again.aclose()


async def test_sink_retried_patch_leaves_one_graph(
    proxy: FaultProxy, glaciation_service: GlaciationService
) -> None:
    subgraph_id = f"t{uuid.uuid4().hex[:8]}:node:worker-1"
    first_patch_slow(proxy)
    sink = open_sink(SinkSettings(kind="glaciation", url=proxy.url, **FAST))
    try:
        assert await sink.put(subgraph_id, workload_document("n")) is PutOutcome.CREATED
        # The abandoned attempt lands after the answer; the next write of the id cleans up.
        late_attempt_landed(proxy)
        assert len(graphs_of(glaciation_service, subgraph_id)) == 2
        assert (
            await sink.put(subgraph_id, workload_document("n", replicas=2)) is PutOutcome.REPLACED
        )
    finally:
        await sink.aclose()
    assert proxy.count("slow") == 1
    assert len(graphs_of(glaciation_service, subgraph_id)) == 1


def writer_for(url: str, metrics: GlaciationMetrics, **options: Any) -> SnapshotWriter:
    settings = SinkSettings(kind="glaciation", url=url, **FAST)
    return SnapshotWriter(open_glaciation_api(settings), metrics, **options)


def snapshot_document(tag: str) -> dict[str, Any]:
    return {
        "@context": {"glc": "https://glaciation-heu.github.io/models/reference_model.turtle"},
        "@graph": [
            {"@id": f"https://kubernetes.local/#{tag}", "@type": "glc:WorkProducingResource"}
        ],
    }


def marked(service: GlaciationService, token: str) -> list[str]:
    rows = service.select(
        f"SELECT ?g WHERE {{ GRAPH ?g {{ <{WRITE_PREFIX}{token}> a <{WRITE_TYPE}> }} }}"
    )
    return [r["g"]["value"] for r in rows]


async def test_snapshot_named_for_the_readers_and_retry_deduplicated(
    proxy: FaultProxy, glaciation_service: GlaciationService
) -> None:
    metrics = GlaciationMetrics(CollectorRegistry())
    tokens = iter(["a" + uuid.uuid4().hex, "b" + uuid.uuid4().hex])
    first, second = next(tokens), next(tokens)
    order = iter([first, second])
    writer = writer_for(proxy.url, metrics, token=lambda: next(order))
    first_patch_slow(proxy)
    try:
        graph = await writer.write(snapshot_document("n1"))
        assert graph is not None and graph.startswith("timestamp:")
        late_attempt_landed(proxy)
        assert len(marked(glaciation_service, first)) == 2
        await writer.write(snapshot_document("n1"))
    finally:
        await writer.aclose()
    assert marked(glaciation_service, first) == [graph]
    assert len(marked(glaciation_service, second)) == 1
    assert metrics.snapshots.labels("duplicate_dropped")._value.get() == 1


async def test_pruning_drops_only_our_old_snapshots(glaciation_service: GlaciationService) -> None:
    metrics = GlaciationMetrics(CollectorRegistry())
    now = [1e9]
    ours, theirs = f"cluster-{uuid.uuid4().hex[:8]}", f"cluster-{uuid.uuid4().hex[:8]}"
    writer = writer_for(
        glaciation_service.url, metrics, prune_age_seconds=60.0, clock=lambda: now[0], writer=ours
    )
    other = writer_for(glaciation_service.url, metrics, writer=theirs)
    foreign = glaciation_service.patch(snapshot_document("published-exporter"))
    try:
        old = await writer.write(snapshot_document("old"))
        other_cluster = await other.write(snapshot_document("other-cluster"))
        # The server's clock names graphs; ours is moved so that both are past the prune age.
        now[0] = (int(str(other_cluster).split(":")[1]) / 1000) + 61
        new = await writer.write(snapshot_document("new"))
    finally:
        await writer.aclose()
        await other.aclose()
    graphs = glaciation_service.snapshot_graphs()
    assert new in graphs and old not in graphs
    assert other_cluster in graphs, "another cluster's kg-exporter snapshot stays"
    assert foreign.split("<")[1].split(">")[0] in graphs, "the published exporter's stays"
