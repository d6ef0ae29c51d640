"""Acknowledged means kept, for batches too: the service is SIGKILLed while a batch is being
written (subprocess service); after a restart every subgraph of every acknowledged batch is there,
whole, and of the batch cut short each subgraph is there whole or not at all."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import orjson

from tests.sink.documents import same_graph, triple_count, workload_document
from tests.sink.servers import Server, reference_service

QUERY = "SELECT ?g (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
GRAPH_PREFIX = "urn:kg-exporter:subgraph:"


def batch_body(ids: list[str]) -> bytes:
    return b"".join(
        orjson.dumps({"id": i, "document": workload_document(i.rsplit(":", 1)[1])}) + b"\n"
        for i in ids
    )


async def test_sigkill_during_a_batch_keeps_whole_subgraphs_only(tmp_path: Path) -> None:
    store, log = tmp_path / "store", tmp_path / "service.log"
    acknowledged: set[str] = set()
    sent: set[str] = set()
    # The kill comes this long after an acknowledgement, while the other sender's batch is being
    # read, parsed or written: the rounds together cut batches at different points.
    for round_number, delay in enumerate((0.0, 0.15, 0.4)):
        with reference_service(store, log=log) as server:
            await _send_until_killed(server, f"r{round_number}", delay, sent, acknowledged)

    with reference_service(store, log=log) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            answer = await client.get("/sparql", params={"query": QUERY})
            counts = {
                row["g"]["value"].removeprefix(GRAPH_PREFIX): int(row["n"]["value"])
                for row in answer.json()["results"]["bindings"]
            }
            whole = triple_count(workload_document("w0"))
            assert acknowledged <= set(counts), "an acknowledged subgraph is missing"
            assert set(counts) <= sent
            partial = {i: n for i, n in counts.items() if n != whole}
            assert not partial, f"partial subgraphs: {partial}"
            listed = (await client.get("/subgraph", params={"prefix": "k:"})).json()
            assert set(listed) == set(counts)
            for subgraph_id in sorted(acknowledged)[:: len(acknowledged) // 5]:
                document: Any = (await client.get(f"/subgraph/{subgraph_id}")).json()
                name = subgraph_id.rsplit(":", 1)[1]
                assert same_graph(document, workload_document(name)), subgraph_id


async def _send_until_killed(
    server: Server, label: str, delay: float, sent: set[str], acknowledged: set[str]
) -> None:
    """Two senders post batches; after the third acknowledged one, SIGKILL ``delay`` s later."""
    killed = asyncio.Event()
    acked_batches = 0

    async def kill() -> None:
        await asyncio.sleep(delay)
        server.kill()
        killed.set()

    async def sender(name: str, client: httpx.AsyncClient) -> None:
        nonlocal acked_batches
        # Bulk-loaded batches (200) and one-transaction batches (20), alternately.
        for number, size in enumerate([200, 20] * 20):
            ids = [f"k:{label}{name}{number}:w{index}" for index in range(size)]
            sent.update(ids)
            try:
                response = await client.post(
                    "/subgraph",
                    content=batch_body(ids),
                    headers={"Content-Type": "application/x-ndjson"},
                )
            except httpx.TransportError:
                await killed.wait()
                return
            assert response.status_code == 200, response.text
            results = response.json()["results"]
            assert [r["status"] for r in results] == [201] * size
            acknowledged.update(ids)
            acked_batches += 1
            if acked_batches == 3:
                killer.append(asyncio.create_task(kill()))

    killer: list[asyncio.Task[None]] = []
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
        await asyncio.gather(sender("a", client), sender("b", client))
    await asyncio.gather(*killer)
    assert killed.is_set()
