"""What the reference Metadata Service's store alone costs, with no HTTP, client or rendering:
the floor under ``bench/sink.py`` (creates) and ``bench/backfill.py``.

Renders the objects ``bench/backfill.py`` generates (N workloads, M nodes, the glaciation node),
then in this one process: parses every document as the service does (JSON-LD → triples), and
creates every subgraph: one transaction each, as a PUT does, into the on-disk store and into the
in-memory one, and on disk in batches with :meth:`SubgraphStore.put_many`, as ``POST /subgraph``
does (bulk-loaded). Beside those, the floor under them: the same statements as N-Quads
bulk-loaded straight into a fresh store in pieces of the same number of subgraphs (the store's
own work, without ``put_many``'s), and ``oxigraph load`` of the same N-Quads into an empty store
(Oxigraph's CLI: what ``bench/backfill.py`` compares the backfill with). Prints CPU seconds (all
threads, RocksDB's background flushes and compactions included: the store settles for a few
seconds before the figure is taken) and wall seconds. Each run takes every mode
once, one after the other, so that the machine's load weighs on all alike; the medians.

    python bench/store.py [--workloads 10000] [--nodes 1000] [--runs 3] [--batch 256] [--floor]

``--floor`` skips the slow modes (one transaction per subgraph, in memory).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pyoxigraph as ox

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from backfill import node, oxigraph, workload  # noqa: E402
from procfs import cpu_seconds  # noqa: E402

from kg_exporter.identity import subgraph_graph_iri  # noqa: E402
from kg_exporter.ntriples import in_graph  # noqa: E402
from kg_exporter.render.renderer import Renderer  # noqa: E402
from kg_exporter.service.store import (  # noqa: E402
    IN_MEMORY,
    Statements,
    SubgraphStore,
    n_triples,
)
from kg_exporter.service.validation import parse_document  # noqa: E402
from kg_exporter.settings import load_settings  # noqa: E402

#: How long the on-disk store is left to finish background work before its CPU is read.
SETTLE_SECONDS = 3.0


def bodies(workloads: int, nodes: int) -> list[bytes]:
    """The request bodies a backfill of that many objects sends, in order."""
    renderer = Renderer(load_settings())
    subgraphs = []
    for i in range(workloads):
        subgraphs += renderer.workload(workload(i, nodes))
    for i in range(nodes):
        subgraphs += renderer.node(node(i))
    subgraphs += renderer.glaciation_node(f"node-{i}" for i in range(nodes))
    return [json.dumps(s.document, separators=(",", ":")).encode() for s in subgraphs]


def create_all(location: str, triples: list[list], batch: int) -> tuple[float, float]:  # type: ignore[type-arg]
    """(CPU s, wall s) to create every subgraph in a fresh store at ``location``: one
    :meth:`SubgraphStore.put` each (``batch`` 1), or :meth:`SubgraphStore.put_many` of ``batch``."""
    store = SubgraphStore.open(location)
    statements = [
        Statements(f"bench:{index}", n_triples(subgraph)) for index, subgraph in enumerate(triples)
    ]
    cpu, wall = cpu_seconds(os.getpid()), time.perf_counter()
    if batch == 1:
        for item in statements:
            store.put_statements(item.subgraph_id, item.data)
    else:
        for start in range(0, len(statements), batch):
            store.put_many(statements[start : start + batch])
    store.flush()
    wall = time.perf_counter() - wall
    if location != IN_MEMORY:
        time.sleep(SETTLE_SECONDS)
    cpu = cpu_seconds(os.getpid()) - cpu
    store.close()
    return cpu, wall


def raw_loads(location: str, pieces: list[bytes]) -> tuple[float, float]:
    """(CPU s, wall s) to bulk-load each of ``pieces`` (N-Quads) into a fresh store: the store's
    own share of :meth:`SubgraphStore.put_many`."""
    store = ox.Store(location)
    cpu, wall = cpu_seconds(os.getpid()), time.perf_counter()
    for quads in pieces:
        store.bulk_load(quads, format=ox.RdfFormat.N_QUADS, lenient=True)
    store.flush()
    wall = time.perf_counter() - wall
    time.sleep(SETTLE_SECONDS)
    cpu = cpu_seconds(os.getpid()) - cpu
    del store
    return cpu, wall


def _ratio(cpu: float, floor: float) -> str:
    return f"{cpu / floor:.2f}x oxigraph load's" if floor > 0 else "oxigraph load took no time"


def _cut(quads: bytes, size: int) -> list[bytes]:
    """``quads`` in pieces of about ``size`` bytes, each ending with a whole line."""
    pieces, start = [], 0
    while start < len(quads):
        end = quads.find(b"\n", start + size - 1) + 1 or len(quads)
        pieces.append(quads[start:end])
        start = end
    return pieces


def _raw(pieces: list[bytes], location: str) -> tuple[float, float]:
    return raw_loads(location, pieces)


def oxigraph_load(location: str, quads: Path) -> tuple[float, float]:
    """(CPU s, wall s) of ``oxigraph load`` of the file ``quads`` into an empty store."""
    started = time.perf_counter()
    argv = [oxigraph(), "load", "--location", location, "--file", str(quads)]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        assert process.stderr is not None
        raise RuntimeError(f"oxigraph load failed: {process.stderr.read().decode()[-2000:]}")
    if process.stderr is not None:
        process.stderr.close()
    return usage.ru_utime + usage.ru_stime, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", type=int, default=10_000)
    parser.add_argument("--nodes", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=256, help="subgraphs per put_many")
    parser.add_argument(
        "--floor", action="store_true", help="only the batches, their bulk loads, oxigraph load"
    )
    parser.add_argument(
        "--mib",
        type=float,
        action="append",
        default=[],
        help="also bulk-load the same N-Quads in pieces of this many MiB (repeatable)",
    )
    args = parser.parse_args()
    documents = bodies(args.workloads, args.nodes)
    started = cpu_seconds(os.getpid())
    triples = [parse_document(body) for body in documents]
    parse = cpu_seconds(os.getpid()) - started
    count = sum(len(t) for t in triples)
    print(
        f"{len(documents):,} subgraphs ({args.workloads:,} workloads, {args.nodes:,} nodes), "
        f"{count:,} triples ({count / len(documents):.0f} per subgraph); the service's JSON-LD "
        f"parse of them: {parse:.1f} s CPU",
        flush=True,
    )
    # The statements as put_many makes them N-Quads, cut where its batches are.
    statements = [n_triples(t) for t in triples]
    graphs = [subgraph_graph_iri(f"bench:{index}") for index in range(len(statements))]
    nquads = [in_graph(data, graph) for data, graph in zip(statements, graphs, strict=True)]
    pieces = [
        b"".join(nquads[start : start + args.batch]) for start in range(0, len(nquads), args.batch)
    ]
    work = Path(tempfile.mkdtemp(prefix="kg-store-bench-"))
    quads_file = work / "all.nq"
    quads_file.write_bytes(b"".join(pieces))
    del nquads

    def store_in(directory: str, mode: Callable[[str], tuple[float, float]]) -> tuple[float, float]:
        location = str(Path(directory) / "store")
        try:
            return mode(location)
        finally:
            shutil.rmtree(location, ignore_errors=True)

    modes: list[tuple[str, Callable[[str], tuple[float, float]]]] = []
    if not args.floor:
        modes.append(("on disk, one transaction each", lambda d: create_all(d, triples, 1)))
    modes += [
        (f"on disk, put_many of {args.batch}", lambda d: create_all(d, triples, args.batch)),
        (f"the same N-Quads, bulk loads of {args.batch}", lambda d: raw_loads(d, pieces)),
        ("the same N-Quads, `oxigraph load`", lambda d: oxigraph_load(d, quads_file)),
    ]
    for mib in args.mib:
        cut = _cut(b"".join(pieces), int(mib * 1024 * 1024))
        modes.append((f"the same N-Quads, bulk loads of {mib:g} MiB", partial(_raw, cut)))
    if not args.floor:
        modes.append(
            ("in memory, one transaction each", lambda _: create_all(IN_MEMORY, triples, 1))
        )
    figures: dict[str, list[tuple[float, float]]] = {label: [] for label, _ in modes}
    try:
        for run in range(args.runs):
            for label, mode in modes:
                cpu, wall = store_in(str(work), mode)
                figures[label].append((cpu, wall))
                print(f"  run {run + 1}, {label}: {cpu:.1f} s CPU, {wall:.1f} s wall", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    width = max(len(label) for label in figures)
    floor = statistics.median(c for c, _ in figures["the same N-Quads, `oxigraph load`"])
    for label, runs in figures.items():
        cpu = statistics.median(r[0] for r in runs)
        wall = statistics.median(r[1] for r in runs)
        print(
            f"create all, {label:<{width}}: median {cpu:5.1f} s CPU ({_ratio(cpu, floor)} "
            f"), {wall:5.1f} s wall ({cpu / len(documents) * 1e6:,.0f} us CPU "
            "per subgraph); runs (CPU/wall): " + ", ".join(f"{c:.1f}/{w:.1f}" for c, w in runs)
        )
    load = os.getloadavg()[0]
    print(f"load average at the end: {load:.1f} ({os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
