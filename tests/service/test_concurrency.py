"""Many writers at once: every distinct id lands, and writers racing on one id never leave a mix.
The sinks send one PUT each (``batch_max=1``): batching would keep a client's writes to one id in
order, and the race must happen at the service."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from kg_exporter.resources import context
from kg_exporter.service import SubgraphStore
from kg_exporter.sink import PutOutcome, Sink, open_sink
from kg_exporter.sink.jsonld import Compactor, document_triples
from tests.sink.conftest import sink_settings
from tests.sink.documents import same_graph, workload_document
from tests.sink.servers import Server, reference_service


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("concurrency")
    with reference_service(workdir / "store", log=workdir / "service.log") as server:
        yield server


def _patient_sink(url: str) -> Sink:
    """One attempt per PUT, so any failure shows; a generous timeout, because what is checked is
    that every write lands whole, not how fast: on a loaded 2-core machine a request can wait
    seconds behind the 63 others in flight."""
    return open_sink(
        sink_settings("subgraph", url, max_attempts=1, timeout_seconds=120, batch_max=1)
    )


async def test_a_thousand_concurrent_puts_of_distinct_ids_all_land(service: Server) -> None:
    sink = _patient_sink(service.url)
    ids = [f"many:workload:pod:default:p{index:04d}" for index in range(1000)]
    document = workload_document("p")
    outcomes = await asyncio.gather(*(sink.put(subgraph_id, document) for subgraph_id in ids))
    assert outcomes.count(PutOutcome.CREATED) == 1000
    assert await sink.list("many:") == ids
    await sink.aclose()


async def test_racing_writers_on_one_id_leave_exactly_one_body(service: Server) -> None:
    sink = _patient_sink(service.url)
    # Bodies that differ in many triples, so a mix would show.
    bodies = [workload_document("alpha"), workload_document("beta", phase="Pending", replicas=9)]
    for round_ in range(3):
        subgraph_id = f"race:workload:deployment:default:r{round_}"
        await asyncio.gather(*(sink.put(subgraph_id, bodies[index % 2]) for index in range(200)))
        stored = await sink.get(subgraph_id)
        assert [same_graph(stored, body) for body in bodies].count(True) == 1
    await sink.aclose()


def test_racing_threads_on_one_store_leave_exactly_one_body(tmp_path: Path) -> None:
    store = SubgraphStore.open(str(tmp_path / "store"), remembered=0)
    bodies = [
        document_triples(workload_document("alpha")),
        document_triples(workload_document("beta", phase="Pending", replicas=9)),
    ]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda index: store.put("t:x", bodies[index % 2]), range(200)))
    stored = Compactor(context()).document(store.get("t:x") or [])
    matches = [same_graph(stored, Compactor(context()).document(body)) for body in bodies]
    assert matches.count(True) == 1


async def test_racing_writers_through_a_threaded_writer_leave_exactly_one_body(
    tmp_path: Path,
) -> None:
    """With ``write_executor`` a pool of threads, the per-id lock is what keeps bodies apart."""
    from aiohttp.test_utils import TestServer
    from prometheus_client import CollectorRegistry

    from kg_exporter.service import create_app

    store = SubgraphStore.open(str(tmp_path / "store"), remembered=0)
    with ThreadPoolExecutor(max_workers=4) as writers:
        app = create_app(store, registry=CollectorRegistry(), write_executor=writers)
        server = TestServer(app, host="127.0.0.1", port=0)
        await server.start_server()
        sink = _patient_sink(f"http://127.0.0.1:{server.port}")
        bodies = [workload_document("alpha"), workload_document("beta", phase="Pending")]
        await asyncio.gather(*(sink.put("t:race", bodies[index % 2]) for index in range(200)))
        stored = await sink.get("t:race")
        await sink.aclose()
        await server.close()
    assert [same_graph(stored, body) for body in bodies].count(True) == 1
