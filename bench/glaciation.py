"""Writes into the real GLACIATION Metadata Service when its store already holds the platform's
snapshots, against the same writes into an empty store, side by side in one run.

Starts the published service twice (``peers/glaciation/metadata-service/run.sh``): on an empty
store, and on a store preloaded with ``--snapshots`` platform snapshots (``timestamp:<ms>``
graphs of a cluster of ``--nodes`` nodes and ``--pods`` pods with their measurements, rendered by
the profile, loaded with the service's own pyoxigraph so the store is the service's format). Then,
alternating between the two services write by write, for ``--rounds`` rounds:

- **sink**: the ``glaciation`` sink puts the example cluster's subgraphs (what ``kg-exporter
  backfill --sink`` writes; each round's documents differ, so every put writes);
- **snapshot**: the profile's writer PATCHes ``--snapshot-writes`` platform snapshots.

Then, as the issue that asked for this found it failing: ``kg-exporter backfill`` of the example
cluster through the glaciation sink into the loaded store, twice. Prints, per kind and store, the writes, failures, p50 and p99 latency (ms) and the p99 ratio
loaded/empty; with ``--runs`` > 1 the median of each figure over the runs.

    python bench/glaciation.py [--snapshots 1000] [--nodes 3] [--pods 20] [--rounds 10] [--runs 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from prometheus_client import CollectorRegistry

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kg_exporter.glaciation.config import GlaciationSettings  # noqa: E402
from kg_exporter.glaciation.measurements import load_measurements  # noqa: E402
from kg_exporter.glaciation.metrics import GlaciationMetrics  # noqa: E402
from kg_exporter.glaciation.project import project  # noqa: E402
from kg_exporter.glaciation.render import SnapshotRenderer  # noqa: E402
from kg_exporter.glaciation.snapshot import (  # noqa: E402
    ClusterState,
    Sample,
    group_measurements,
    render_snapshot,
)
from kg_exporter.glaciation.writer import SnapshotWriter  # noqa: E402
from kg_exporter.manifests import Manifest, read_manifests  # noqa: E402
from kg_exporter.render.renderer import Renderer  # noqa: E402
from kg_exporter.settings import SinkSettings, load_settings  # noqa: E402
from kg_exporter.sink import open_sink  # noqa: E402
from kg_exporter.sink.glaciation_api import open_glaciation_api  # noqa: E402

PEERS = Path(os.environ.get("GLACIATION_PEERS", "/work/shared/peers/glaciation"))
RUN_SH = PEERS / "metadata-service" / "run.sh"
VENV = Path(
    os.environ.get(
        "GLACIATION_MS_VENV", Path.home() / ".cache" / "glaciation-metadata-service" / "venv"
    )
)
#: The example cluster's kinds the design renders (backfill's input).
EXAMPLES = ROOT / "examples"
PRELOAD = """
import sys, pyoxigraph
store = pyoxigraph.Store(sys.argv[1])
with open(sys.argv[2], "rb") as data:
    store.bulk_load(data, "application/n-quads")
# As the platform's sidecar has the service do every hour (POST /api/v0/graph/compact): the store
# starts compacted instead of compacting the bulk load in the background during the measurement.
store.optimize()
store.flush()
"""


def cluster(nodes: int, pods: int) -> ClusterState:
    """A cluster of ``nodes`` nodes and ``pods`` running pods of ``pods // 5`` Deployments."""
    state = ClusterState(cluster_name="bench")
    objects: list[dict[str, Any]] = []
    for i in range(nodes):
        objects.append(
            {
                "kind": "Node",
                "metadata": {"name": f"node-{i}"},
                "status": {
                    "allocatable": {"cpu": "7800m", "memory": "31Gi", "ephemeral-storage": "180Gi"},
                    "conditions": [
                        {
                            "type": "Ready",
                            "status": "True",
                            "lastTransitionTime": "2026-11-01T08:00:00Z",
                        }
                    ],
                },
            }
        )
    for d in range(max(1, pods // 5)):
        template = {
            "spec": {
                "containers": [
                    {
                        "name": "app",
                        "resources": {
                            "requests": {"cpu": "250m", "memory": "128Mi"},
                            "limits": {"memory": "256Mi"},
                        },
                    }
                ]
            }
        }
        owner = [{"kind": "Deployment", "name": f"svc-{d}"}]
        objects.append(
            {
                "kind": "Deployment",
                "metadata": {"name": f"svc-{d}", "namespace": "bench"},
                "spec": {"template": template},
            }
        )
        objects.append(
            {
                "kind": "ReplicaSet",
                "metadata": {
                    "name": f"svc-{d}-7d9f",
                    "namespace": "bench",
                    "ownerReferences": owner,
                },
                "spec": {"template": template},
            }
        )
    for p in range(pods):
        d = p % max(1, pods // 5)
        objects.append(
            {
                "kind": "Pod",
                "metadata": {
                    "name": f"svc-{d}-7d9f-{p:05d}",
                    "namespace": "bench",
                    "ownerReferences": [{"kind": "ReplicaSet", "name": f"svc-{d}-7d9f"}],
                },
                "spec": {"nodeName": f"node-{p % nodes}", "schedulerName": "default-scheduler"},
                "status": {
                    "phase": "Running",
                    "startTime": "2026-11-01T09:00:00Z",
                    "containerStatuses": [
                        {
                            "name": "app",
                            "containerID": f"containerd://{p:064x}",
                            "state": {"running": {"startedAt": "2026-11-01T09:00:01Z"}},
                        }
                    ],
                },
            }
        )
    for obj in objects:
        projected = project(obj["kind"], obj)
        assert projected is not None
        key, facts = projected
        table = (
            state.nodes
            if obj["kind"] == "Node"
            else state.pods
            if obj["kind"] == "Pod"
            else state.tasks
        )
        table[key] = facts
    return state


def snapshot(renderer: SnapshotRenderer, state: ClusterState, now_ms: int) -> dict[str, Any]:
    """A snapshot with a value for every query of the bundled measurement configuration."""
    config = load_measurements()
    nodes = [Sample(q, n, 1.5, now_ms) for q in config.node_queries for n in state.nodes]
    pods = [Sample(q, p, 2.5, now_ms) for q in config.pod_queries for p in state.pods]
    measurements, _ = group_measurements(state, nodes, pods, now_ms)
    return render_snapshot(renderer, state, measurements)


def preload(store: Path, count: int, state: ClusterState, renderer: SnapshotRenderer) -> int:
    """``count`` snapshots, 10 s apart, as ``timestamp:<ms>`` graphs; the number of quads. One
    snapshot is rendered and restamped per copy (its measurement ids hold the time)."""
    import pyoxigraph as ox

    placeholder = 1111111111111
    document = snapshot(renderer, state, placeholder)
    triples = ox.parse(json.dumps(document).encode(), format=ox.RdfFormat.JSON_LD)
    text = ox.serialize(triples, format=ox.RdfFormat.N_QUADS).decode()
    lines = text.count("\n")
    nquads = store.parent / "preload.nq"
    start = int(time.time() * 1000) - count * 10_000
    with nquads.open("w") as out:
        for i in range(count):
            stamp = str(start + i * 10_000)
            copy = text.replace(str(placeholder), stamp)
            out.write(copy.replace(" .\n", f" <timestamp:{stamp}> .\n"))
    subprocess.run(
        [str(VENV / "bin" / "python"), "-c", PRELOAD, str(store), str(nquads)], check=True
    )
    nquads.unlink()
    return lines * count


@contextmanager
def service(store: Path, log: Path) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["bash", str(RUN_SH), str(port), str(store)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 240
        while True:
            if process.poll() is not None:
                raise SystemExit(f"the service exited; see {log}")
            try:
                if httpx.get(f"{url}/docs", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"the service did not start; see {log}")
            time.sleep(0.1)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def design_documents() -> list[tuple[str, dict[str, Any]]]:
    renderer = Renderer(load_settings())
    out = []
    for manifest in read_manifests([EXAMPLES]):
        if not isinstance(manifest, Manifest):
            continue
        obj = manifest.obj
        try:
            pair = renderer.node(obj) if obj.get("kind") == "Node" else renderer.workload(obj)
        except Exception:
            continue
        out += [(s.id, s.document) for s in pair]
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(
    urls: dict[str, str],
    rounds: int,
    snapshot_writes: int,
    state: ClusterState,
    renderer: SnapshotRenderer,
) -> dict[str, Any]:
    settings = {
        name: SinkSettings(kind="glaciation", url=url, timeout_seconds=30.0)
        for name, url in urls.items()
    }
    sinks = {name: open_sink(s) for name, s in settings.items()}
    writers = {
        name: SnapshotWriter(open_glaciation_api(s), GlaciationMetrics(CollectorRegistry()))
        for name, s in settings.items()
    }
    documents = design_documents()
    latencies: dict[tuple[str, str], list[float]] = {}
    failures: dict[tuple[str, str], int] = {}
    order = list(urls)
    try:
        for r in range(rounds):
            order.reverse()  # neither store always goes first
            for subgraph_id, document in documents:
                varied = {
                    **document,
                    "@graph": [
                        *document.get("@graph", []),
                        {"@id": "urn:bench:round", "urn:bench:n": r},
                    ],
                }
                for name in order:
                    await timed(
                        latencies, failures, ("sink", name), sinks[name].put(subgraph_id, varied)
                    )
            for _ in range(snapshot_writes):
                document = snapshot(renderer, state, int(time.time() * 1000))
                for name in order:
                    await timed(
                        latencies, failures, ("snapshot", name), writers[name].write(document)
                    )
    finally:
        for sink in sinks.values():
            await sink.aclose()
        for writer in writers.values():
            await writer.aclose()
    figures: dict[str, Any] = {}
    for (kind, name), values in latencies.items():
        figures[f"{kind} {name} writes"] = len(values)
        figures[f"{kind} {name} failures"] = failures.get((kind, name), 0)
        figures[f"{kind} {name} p50 ms"] = (
            percentile(values, 0.5) * 1000 if values else float("nan")
        )
        figures[f"{kind} {name} p99 ms"] = (
            percentile(values, 0.99) * 1000 if values else float("nan")
        )
    for kind in ("sink", "snapshot"):
        figures[f"{kind} p99 ratio loaded/empty"] = (
            figures[f"{kind} loaded p99 ms"] / figures[f"{kind} empty p99 ms"]
        )
    return figures


async def timed(
    latencies: dict[tuple[str, str], list[float]],
    failures: dict[tuple[str, str], int],
    key: tuple[str, str],
    write: Any,
) -> None:
    started = time.perf_counter()
    try:
        await write
    except Exception as exc:
        failures[key] = failures.get(key, 0) + 1
        print(f"failed: {key}: {exc}", file=sys.stderr)
        return
    latencies.setdefault(key, []).append(time.perf_counter() - started)


def backfill(url: str) -> str:
    """``kg-exporter backfill --manifests examples/ --sink URL`` with the glaciation sink: its
    exit code, wall seconds (the process's start included) and summary line."""
    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "kg_exporter.cli",
            "backfill",
            "--manifests",
            str(EXAMPLES),
            "--sink",
            url,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "KG_EXPORTER_SINK__KIND": "glaciation"},
        cwd=ROOT,
        check=False,
    )
    wall = time.monotonic() - started
    summary = result.stdout.splitlines()[0] if result.stdout else result.stderr.strip()[-300:]
    return f"exit {result.returncode}, {wall:.1f} s: {summary}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--snapshots", type=int, default=1000)
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--pods", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--snapshot-writes", type=int, default=5, help="per round")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    if not RUN_SH.exists():
        raise SystemExit(
            f"{RUN_SH} is missing: the published GLACIATION Metadata Service is needed"
        )
    renderer = SnapshotRenderer(GlaciationSettings())
    state = cluster(args.nodes, args.pods)
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-glaciation-") as tmp:
        base = Path(tmp)
        (base / "empty").mkdir()
        (base / "loaded").mkdir()
        if not (VENV / "bin" / "uvicorn").exists():
            # run.sh makes the venv on first use; the preload needs its pyoxigraph first.
            with service(base / "empty" / "store", base / "warm.log"):
                pass
        started = time.monotonic()
        quads = preload(base / "loaded" / "store", args.snapshots, state, renderer)
        print(
            f"preloaded {args.snapshots} snapshots, {quads} quads, in {time.monotonic() - started:.1f} s"
        )
        with (
            service(base / "empty" / "store", base / "empty.log") as empty,
            service(base / "loaded" / "store", base / "loaded.log") as loaded,
        ):
            for attempt in (1, 2):
                # The case: a backfill of the example cluster through the glaciation sink
                # into the loaded store, twice (the second finds everything unchanged).
                print(f"backfill {attempt} into the loaded store: {backfill(loaded)}")
            for _ in range(args.runs):
                runs.append(
                    asyncio.run(
                        measure(
                            {"empty": empty, "loaded": loaded},
                            args.rounds,
                            args.snapshot_writes,
                            state,
                            renderer,
                        )
                    )
                )
    for index, run in enumerate(runs, 1):
        ratios = ", ".join(f"{k} {v:.2f}" for k, v in run.items() if "ratio" in k or "p99 ms" in k)
        print(f"run {index}: {ratios}")
    for key in runs[0]:
        value = statistics.median(run[key] for run in runs)
        print(f"{key}: {value:.2f}" if isinstance(value, float) else f"{key}: {value}")


if __name__ == "__main__":
    main()
