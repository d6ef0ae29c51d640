"""What the reference Metadata Service's store alone costs, with no HTTP, client or rendering:
the floor under ``bench/sink.py`` (creates) and ``bench/backfill.py``.

Renders the objects ``bench/backfill.py`` generates (N workloads, M nodes, the glaciation node),
then in this one process: parses every document as the service does (JSON-LD → triples), and
creates every subgraph: one transaction each, as a PUT does, into the on-disk store and into the
in-memory one, and on disk in batches with :meth:`SubgraphStore.put_many`, as ``POST /subgraph``
does (bulk-loaded). Prints CPU seconds (all threads, RocksDB's
background flushes and compactions included: the store settles for a few seconds before the
figure is taken) and wall seconds. The median of several runs.

    python bench/store.py [--workloads 10000] [--nodes 1000] [--runs 3] [--batch 256]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from backfill import node, workload  # noqa: E402
from procfs import cpu_seconds  # noqa: E402

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", type=int, default=10_000)
    parser.add_argument("--nodes", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=256, help="subgraphs per put_many")
    args = parser.parse_args()
    documents = bodies(args.workloads, args.nodes)
    started = cpu_seconds(os.getpid())
    triples = [parse_document(body) for body in documents]
    parse = cpu_seconds(os.getpid()) - started
    count = sum(len(t) for t in triples)
    print(
        f"{len(documents):,} subgraphs ({args.workloads:,} workloads, {args.nodes:,} nodes), "
        f"{count:,} triples ({count / len(documents):.0f} per subgraph); the service's JSON-LD "
        f"parse of them: {parse:.1f} s CPU"
    )
    modes = [("on disk", None, 1), (f"on disk, batches of {args.batch}", None, args.batch)]
    modes.append(("in memory", IN_MEMORY, 1))
    width = max(len(label) for label, _, _ in modes)
    for label, location, batch in modes:
        runs = []
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory(prefix="kg-store-bench-") as directory:
                runs.append(create_all(location or str(Path(directory) / "store"), triples, batch))
        cpu = statistics.median(r[0] for r in runs)
        wall = statistics.median(r[1] for r in runs)
        print(
            f"  create all, {label:<{width}}: median {cpu:5.1f} s CPU, {wall:5.1f} s wall "
            f"({cpu / len(documents) * 1e6:,.0f} us CPU per subgraph); runs (CPU/wall): "
            + ", ".join(f"{c:.1f}/{w:.1f}" for c, w in runs),
            flush=True,
        )


if __name__ == "__main__":
    main()
