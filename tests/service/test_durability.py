"""Acknowledged means kept: a SIGKILL right after the last 2xx loses nothing (subprocess service).
One PUT per subgraph here (``batch_max=1``); test_batch_durability.py kills it during batches."""

from __future__ import annotations

import asyncio
from pathlib import Path

from kg_exporter.sink import PutOutcome, Sink, open_sink
from tests.sink.conftest import sink_settings
from tests.sink.documents import same_graph, workload_document
from tests.sink.servers import reference_service

COUNT = 500


def ids() -> list[str]:
    return [f"c1:workload:deployment:default:w{index:03d}" for index in range(COUNT)]


async def put_all(sink: Sink, documents: dict[str, dict[str, object]]) -> list[PutOutcome]:
    limit = asyncio.Semaphore(32)

    async def put(subgraph_id: str) -> PutOutcome:
        async with limit:
            return await sink.put(subgraph_id, documents[subgraph_id])

    return await asyncio.gather(*(put(subgraph_id) for subgraph_id in documents))


async def test_sigkill_after_acknowledged_puts_loses_nothing(tmp_path: Path) -> None:
    store, log = tmp_path / "store", tmp_path / "service.log"
    created = {subgraph_id: workload_document(subgraph_id[-4:]) for subgraph_id in ids()}
    replaced = {
        subgraph_id: workload_document(subgraph_id[-4:], phase="Failed", replicas=0)
        for subgraph_id in ids()[::2]
    }
    with reference_service(store, log=log) as server:
        sink = open_sink(sink_settings("subgraph", server.url, batch_max=1))
        assert set(await put_all(sink, created)) == {PutOutcome.CREATED}
        assert set(await put_all(sink, replaced)) == {PutOutcome.REPLACED}
        await sink.aclose()
        server.kill()  # right after the last acknowledgement: no flush, no shutdown code

    with reference_service(store, log=log) as server:
        sink = open_sink(sink_settings("subgraph", server.url, batch_max=1))
        assert await sink.list("c1:") == ids()
        for subgraph_id in ids()[:40]:
            expected = replaced.get(subgraph_id, created[subgraph_id])
            assert same_graph(await sink.get(subgraph_id), expected), subgraph_id
        await sink.aclose()


async def test_a_graceful_restart_keeps_everything_too(tmp_path: Path) -> None:
    store, log = tmp_path / "store", tmp_path / "service.log"
    with reference_service(store, log=log) as server:
        sink = open_sink(sink_settings("subgraph", server.url, batch_max=1))
        await sink.put("c1:node:n1", workload_document("n1"))
        await sink.aclose()
    with reference_service(store, log=log) as server:
        sink = open_sink(sink_settings("subgraph", server.url, batch_max=1))
        assert same_graph(await sink.get("c1:node:n1"), workload_document("n1"))
        # Unknown to the new process's memory: the replace reads the old graph from disk.
        assert await sink.put("c1:node:n1", workload_document("n2")) is PutOutcome.REPLACED
        assert same_graph(await sink.get("c1:node:n1"), workload_document("n2"))
        await sink.aclose()
