"""The client's CPU per Graph Store PUT to ``oxigraph serve`` (started here on loopback), four
client designs alternating in one run, so the machine's load falls on all of them alike:

- ``sink``: ``open_sink`` as the product uses it (the sink client on aiohttp directly), one PUT
  per subgraph (``sink.batch_max: 1``);
- ``sink-batched``: the same with the default ``sink.batch_max``: the puts in flight together go
  out as one SPARQL Update (plus the query that tells created from replaced), each subgraph's
  JSON-LD converted to N-Triples here;
- ``httpx-client``: the same sink through an ``httpx.AsyncClient`` (``make_http_client``, httpx
  on aiohttp: what every sink used before);
- ``lean-httpx``: the leanest httpx design measured: prebuilt ``httpx.Request`` objects sent
  straight through the httpx transport, no ``AsyncClient`` (no URL merging, cookies, auth flow);
- ``raw-aiohttp``: a bare aiohttp PUT loop with the same URLs and bodies (the floor under the
  first).

The same documents as ``bench/sink.py`` (~3 KiB each), 32 PUTs in flight (``--in-flight``; the
daemon's 64 workers hold up to 128). Prints each design's median CPU microseconds per subgraph
written, of this process (the bench's own task overhead included).

    python bench/sink_client.py [--runs 3] [--count 3000] [--in-flight 32]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import httpx  # noqa: E402
import orjson  # noqa: E402
from yarl import URL  # noqa: E402

from bench.sink import workload_documents  # noqa: E402
from kg_exporter.identity import subgraph_graph_iri  # noqa: E402
from kg_exporter.settings import BATCH_MAX_DEFAULT, SinkSettings  # noqa: E402
from kg_exporter.sink import make_http_client, open_sink  # noqa: E402
from kg_exporter.sink.ids import checked_id  # noqa: E402
from kg_exporter.sink.transport import DEFAULT_HEADERS, AiohttpTransport, AiohttpWire  # noqa: E402
from tests.sink.servers import oxigraph_server  # noqa: E402

IN_FLIGHT = 32  # default of --in-flight
JSON_LD = {"Content-Type": "application/ld+json"}
Put = Callable[[int], Awaitable[None]]


async def cpu_per_put(put: Put, count: int, in_flight: int = IN_FLIGHT) -> float:
    """CPU microseconds of this process per call of ``put``, after a warm-up."""
    limit = asyncio.Semaphore(in_flight)

    async def one(index: int) -> None:
        async with limit:
            await put(index)

    await asyncio.gather(*(one(index) for index in range(200)))
    start = time.process_time()
    await asyncio.gather(*(one(index) for index in range(count)))
    return (time.process_time() - start) / count * 1e6


class Designs:
    def __init__(
        self, store_url: str, documents: list[dict[str, Any]], count: int, in_flight: int
    ) -> None:
        self.url = store_url
        self.documents = documents
        self.count = count
        self.in_flight = in_flight
        self.settings = SinkSettings.model_validate(
            {"kind": "graph-store", "url": store_url, "max_attempts": 1, "batch_max": 1}
        )
        self.graph_query = f"{store_url}?graph={quote(subgraph_graph_iri(''), safe='')}"

    def subgraph(self, index: int) -> tuple[str, dict[str, Any]]:
        slot = index % len(self.documents)
        return f"bench:client:{slot}", self.documents[slot]

    async def sink(
        self, client: httpx.AsyncClient | None = None, settings: SinkSettings | None = None
    ) -> float:
        sink = open_sink(settings or self.settings, client=client)

        async def put(index: int) -> None:
            await sink.put(*self.subgraph(index))

        try:
            return await cpu_per_put(put, self.count, self.in_flight)
        finally:
            await sink.aclose()

    async def sink_batched(self) -> float:
        batched = self.settings.model_copy(update={"batch_max": BATCH_MAX_DEFAULT})
        return await self.sink(settings=batched)

    async def httpx_client(self) -> float:
        client = make_http_client(self.settings)
        try:
            return await self.sink(client)
        finally:
            await client.aclose()

    async def lean_httpx(self) -> float:
        transport = AiohttpTransport(AiohttpWire())
        extensions = {"timeout": httpx.Timeout(10.0).as_dict()}
        headers = {**DEFAULT_HEADERS, **JSON_LD}

        async def put(index: int) -> None:
            subgraph_id, document = self.subgraph(index)
            request = httpx.Request(
                "PUT",
                self.graph_query + quote(checked_id(subgraph_id), safe=""),
                content=orjson.dumps(document),
                headers=headers,
                extensions=extensions,
            )
            response = await transport.handle_async_request(request)
            assert response.status_code < 300, response.status_code

        try:
            return await cpu_per_put(put, self.count, self.in_flight)
        finally:
            await transport.aclose()

    async def raw_aiohttp(self) -> float:
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=64),
            headers=DEFAULT_HEADERS,
            skip_auto_headers=("Content-Type",),
        )
        limits = aiohttp.ClientTimeout(total=None, connect=None, sock_connect=10, sock_read=10)

        async def put(index: int) -> None:
            subgraph_id, document = self.subgraph(index)
            url = URL(self.graph_query + quote(subgraph_id, safe=""), encoded=True)
            async with session.put(
                url, data=orjson.dumps(document), headers=JSON_LD, timeout=limits
            ) as response:
                await response.read()
                assert response.status < 300, response.status

        try:
            return await cpu_per_put(put, self.count, self.in_flight)
        finally:
            await session.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--count", type=int, default=3000, help="PUTs per design and run")
    parser.add_argument("--in-flight", type=int, default=IN_FLIGHT, help="puts at once")
    args = parser.parse_args()
    documents = workload_documents(400)
    with tempfile.TemporaryDirectory() as workdir:
        work = Path(workdir)
        with oxigraph_server(work / "oxigraph", log=work / "oxigraph.log") as server:
            designs = Designs(f"{server.url}/store", documents, args.count, args.in_flight)
            runs: dict[str, Callable[[], Awaitable[float]]] = {
                "sink": designs.sink,
                "sink-batched": designs.sink_batched,
                "httpx-client": designs.httpx_client,
                "lean-httpx": designs.lean_httpx,
                "raw-aiohttp": designs.raw_aiohttp,
            }
            measured: dict[str, list[float]] = {name: [] for name in runs}
            for run in range(args.runs):
                # Alternate the order so no design always runs right after the same one.
                for name in list(runs) if run % 2 == 0 else list(runs)[::-1]:
                    measured[name].append(asyncio.run(runs[name]()))
    print(
        f"client CPU per subgraph written to oxigraph serve, {args.in_flight} in flight "
        f"(sink-batched: SPARQL Update batches of up to {BATCH_MAX_DEFAULT}; the rest one PUT each):"
    )
    for name, values in measured.items():
        print(
            f"  {name:<13} median {statistics.median(values):>4.0f} us   runs: "
            + ", ".join(f"{value:.0f}" for value in values)
        )


if __name__ == "__main__":
    main()
