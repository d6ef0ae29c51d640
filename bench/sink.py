"""PUTs per second through the sink client, to the reference Metadata Service and, for comparison,
to ``oxigraph serve`` (Graph Store protocol), both started here on loopback.

The documents are the example cluster's workload subgraphs as the renderer makes them (23-63
triples), each workload renamed per id so every subgraph has IRIs of its own. Three phases per run:

- create:    PUT to ids never seen;
- replace:   PUT to the same ids with one triple changed (a status update);
- unchanged: PUT the same bodies again (a resync after a relist).

The reference service is measured twice: one PUT per subgraph, and with the client's batching on
(``sink.batch_max``: concurrent PUTs go out together as ``POST /subgraph``); ``oxigraph serve``
gets one Graph Store PUT per subgraph (its protocol replaces one graph per request), the peer of
the ratios, and then the ``graph-store`` sink's batches (one SPARQL Update replacing each graph
of a batch, to its ``/update``). The same client code (``open_sink``), documents and machine for
all. Prints the ratios to ``oxigraph serve``'s PUTs. Client and servers share this machine's cores, as in the brief. Prints each run and the median
PUTs per second, and the median CPU time one PUT costs the client and the server (Linux: read from
/proc), which other load on a shared machine disturbs far less than the rate.

``--httpx`` adds, against the reference service, one PUT each through a caller's
``httpx.AsyncClient`` (``open_sink(client=make_http_client(...))``, httpx on aiohttp) beside the
sinks' own connections (aiohttp directly): what the client's CPU per PUT was before that change.

    python bench/sink.py [--runs 5] [--count 2000] [--concurrency 32] [--batch 256] [--httpx]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.procfs import tree_cpu_seconds  # noqa: E402
from kg_exporter.settings import SinkSettings  # noqa: E402
from kg_exporter.sink import Sink, make_http_client, open_sink  # noqa: E402
from tests.sink.servers import Server, oxigraph_server, reference_service  # noqa: E402

PHASES = ("create", "replace", "unchanged")


def workload_documents(count: int) -> list[dict[str, Any]]:
    """``count`` distinct rendered workload subgraphs."""
    from kg_exporter.kinds import bundled_registry
    from kg_exporter.manifests import Manifest, read_manifests
    from kg_exporter.render.renderer import Renderer
    from kg_exporter.settings import load_settings

    renderer = Renderer(load_settings())
    objects = [
        m.obj
        for m in read_manifests([ROOT / "examples"])
        if isinstance(m, Manifest) and m.obj.get("kind") in bundled_registry()
    ]
    documents = []
    for index in range(count):
        obj = copy.deepcopy(objects[index % len(objects)])
        obj["metadata"]["name"] = f"{obj['metadata']['name']}-{index}"
        subgraph = next(s for s in renderer.workload(obj) if s.kind.value == "workload")
        documents.append(subgraph.document)
    return documents


def revised(document: dict[str, Any], revision: int) -> dict[str, Any]:
    """The document with one triple changed, like a status update."""
    changed = copy.deepcopy(document)
    changed["@graph"][0]["kgx:benchRevision"] = revision
    return changed


@dataclass(frozen=True)
class Measured:
    rate: float  # PUTs per second
    client_us: float  # CPU microseconds per PUT in this process
    server_us: float  # ... in the server process, its threads included (nan when unknown)


async def put_all(
    sink: Sink,
    ids: list[str],
    documents: list[dict[str, Any]],
    concurrency: int,
    server_pid: int,
) -> Measured:
    limit = asyncio.Semaphore(concurrency)

    async def put(index: int) -> None:
        async with limit:
            await sink.put(ids[index], documents[index])

    server_start, client_start = tree_cpu_seconds(server_pid), time.process_time()
    start = time.perf_counter()
    await asyncio.gather(*(put(index) for index in range(len(ids))))
    elapsed = time.perf_counter() - start
    server = tree_cpu_seconds(server_pid) - server_start
    client = time.process_time() - client_start
    return Measured(len(ids) / elapsed, client / len(ids) * 1e6, server / len(ids) * 1e6)


async def one_run(
    kind: str,
    url: str,
    server_pid: int,
    run: int,
    documents: list[dict[str, Any]],
    concurrency: int,
    batch: int = 1,
    httpx_client: bool = False,
) -> dict[str, Measured]:
    settings = SinkSettings.model_validate(
        {"kind": kind, "url": url, "max_attempts": 1, "batch_max": batch}
    )
    client = make_http_client(settings) if httpx_client else None
    sink = open_sink(settings, client=client)
    ids = [f"bench:run{run}:workload:{index}" for index in range(len(documents))]
    changed = [revised(document, run) for document in documents]
    measured = {
        "create": await put_all(sink, ids, documents, concurrency, server_pid),
        "replace": await put_all(sink, ids, changed, concurrency, server_pid),
        "unchanged": await put_all(sink, ids, changed, concurrency, server_pid),
    }
    await sink.aclose()
    if client is not None:
        await client.aclose()
    return measured


def bench(
    kind: str,
    server: Server,
    url: str,
    args: argparse.Namespace,
    documents: list[dict[str, Any]],
    *,
    batch: int = 1,
    httpx_client: bool = False,
) -> dict[str, float]:
    """Runs the phases; prints them and returns each phase's median rate."""
    pid = server.process.pid
    # With batches, enough PUTs in flight to fill two requests, as backfill does.
    concurrency = max(args.concurrency, 2 * batch) if batch > 1 else args.concurrency
    warm_up = documents[: args.count // 4]
    asyncio.run(one_run(kind, url, pid, -1, warm_up, concurrency, batch, httpx_client))
    runs = [
        asyncio.run(one_run(kind, url, pid, run, documents, concurrency, batch, httpx_client))
        for run in range(args.runs)
    ]
    medians = {}
    for phase in PHASES:
        rates = [run[phase].rate for run in runs]
        client = statistics.median(run[phase].client_us for run in runs)
        server_us = statistics.median(run[phase].server_us for run in runs)
        medians[phase] = statistics.median(rates)
        print(
            f"  {phase:<10} median {medians[phase]:>6,.0f} PUT/s   CPU per PUT: "
            f"client {client:>4,.0f} us, server {server_us:>5,.0f} us   runs: "
            + ", ".join(f"{rate:,.0f}" for rate in rates),
            flush=True,
        )
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--count", type=int, default=2000, help="subgraphs per phase and run")
    parser.add_argument("--concurrency", type=int, default=32, help="PUTs in flight")
    parser.add_argument(
        "--batch", type=int, default=256, help="sink.batch_max of the batched reference runs"
    )
    parser.add_argument(
        "--httpx",
        action="store_true",
        help="also one PUT each through an httpx.AsyncClient (the reference service)",
    )
    args = parser.parse_args()
    documents = workload_documents(args.count)
    sizes = [len(str(d)) for d in documents]
    print(
        f"{args.count} workload subgraphs per phase, {args.concurrency} in flight, "
        f"{args.runs} runs; mean body ~{statistics.mean(sizes) / 1024:.1f} KiB"
    )
    with tempfile.TemporaryDirectory() as workdir:
        work = Path(workdir)
        with reference_service(work / "reference", log=work / "reference.log") as server:
            print(f"reference Metadata Service (/subgraph API, on-disk Oxigraph) at {server.url}")
            print(f" one PUT each ({args.concurrency} in flight):")
            single = bench("subgraph", server, server.url, args, documents)
            if args.httpx:
                print(f" one PUT each through an httpx.AsyncClient ({args.concurrency} in flight):")
                bench("subgraph", server, server.url, args, documents, httpx_client=True)
            print(f" batched (sink.batch_max {args.batch}, POST /subgraph):")
            batched = bench("subgraph", server, server.url, args, documents, batch=args.batch)
        with oxigraph_server(work / "oxigraph", log=work / "oxigraph.log") as server:
            print(f"oxigraph serve (Graph Store protocol, on disk) at {server.url}")
            print(f" one PUT each ({args.concurrency} in flight):")
            peer = bench("graph-store", server, f"{server.url}/store", args, documents)
            print(f" batched (sink.batch_max {args.batch}, SPARQL Update):")
            store_batched = bench(
                "graph-store", server, f"{server.url}/store", args, documents, batch=args.batch
            )
    for phase in PHASES:
        print(
            f"{phase}: reference / oxigraph serve: batched {batched[phase] / peer[phase]:.2f}x, "
            f"one PUT each {single[phase] / peer[phase]:.2f}x"
            + (" (target >= 1.5x)" if phase == "create" else "")
        )
        print(
            f"{phase}: oxigraph serve batched / one PUT each: "
            f"{store_batched[phase] / peer[phase]:.2f}x"
        )


if __name__ == "__main__":
    main()
