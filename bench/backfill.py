"""Backfill of a large manifest directory into the reference Metadata Service, wall-clock.

Generates N workloads (Deployments, StatefulSets and Jobs, each with labels, a container with
requests and limits, and a node) and M nodes as YAML in a temporary directory, then per run starts
a fresh reference service (``python -m kg_exporter.service``, on-disk store unless
``--memory``) and times ``kg-exporter backfill --manifests DIR --sink URL`` as a user would run it,
process start included. Both processes share this machine. Beside each run, in the same sitting,
it times the store's own floor: ``kg-exporter render --format nquads`` of the same manifests, then
``oxigraph load`` of those quads into an empty on-disk store (Oxigraph's bulk loader); with
``--formats`` also ``render --format jsonld|turtle`` and ``backfill --dry-run --out``. Prints
each run, the ratios and their medians.

    python bench/backfill.py [--workloads 10000] [--nodes 1000] [--runs 3] [--memory] [--formats]
                             [--baseline DIR]

``--baseline DIR`` (another checkout, e.g. ``/work/main``) also times, in each run right after
this tree's backfill, the same backfill with that tree's code (client and service), beside the
same ``oxigraph load``: a change measured side by side, in one sitting.
"""

from __future__ import annotations

import argparse
import math
import os
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from procfs import cpu_by_thread, cpu_seconds, memory_mib, tree_cpu_seconds

ROOT = Path(__file__).resolve().parent.parent
#: Backfill through the reference service over `oxigraph load` of the same quads (issue #14).
TARGET_RATIO = 1.5
#: render --format nquads|turtle over --format jsonld.
TARGET_RENDER_RATIO = 2.0
KINDS = ("Deployment", "StatefulSet", "Job")


def workload(i: int, nodes: int) -> dict[str, Any]:
    kind = KINDS[i % 10] if i % 10 < 3 else "Deployment"  # 80 % Deployments
    namespace, name = f"team-{i % 50}", f"svc-{i}"
    obj: dict[str, Any] = {
        "apiVersion": "batch/v1" if kind == "Job" else "apps/v1",
        "kind": kind,
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": f"00000000-0000-4000-8000-{i:012d}",
            "creationTimestamp": "2026-11-01T09:00:00Z",
            "labels": {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": namespace},
        },
        "spec": {
            "replicas": 2,
            "template": {
                "spec": {
                    "nodeName": f"node-{i % nodes}" if nodes else None,
                    "containers": [
                        {
                            "name": "app",
                            "image": f"registry.example.org/{namespace}/{name}:1.{i % 7}",
                            "resources": {
                                "requests": {"cpu": "250m", "memory": "128Mi"},
                                "limits": {"cpu": "1", "memory": "256Mi"},
                            },
                        }
                    ],
                }
            },
        },
        "status": {"replicas": 2, "availableReplicas": 2, "readyReplicas": 2},
    }
    if kind == "Job":
        del obj["spec"]["replicas"]
        obj["status"] = {"startTime": "2026-11-01T09:00:05Z", "active": 1}
    return obj


def node(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": f"node-{i}",
            "uid": f"10000000-0000-4000-8000-{i:012d}",
            "creationTimestamp": "2026-09-01T08:00:00Z",
            "labels": {"kubernetes.io/arch": "amd64", "kubernetes.io/hostname": f"node-{i}"},
        },
        "status": {
            "capacity": {"cpu": "8", "memory": "32Gi", "ephemeral-storage": "200Gi", "pods": "110"},
            "allocatable": {"cpu": "7800m", "memory": "31Gi", "pods": "110"},
            "addresses": [
                {"type": "InternalIP", "address": f"10.0.{i // 250}.{i % 250}"},
                {"type": "Hostname", "address": f"node-{i}"},
            ],
            "conditions": [{"type": "Ready", "status": "True"}],
            "nodeInfo": {
                "architecture": "amd64",
                "operatingSystem": "linux",
                "osImage": "Debian GNU/Linux 12 (bookworm)",
                "kubeletVersion": "v1.31.2",
            },
        },
    }


def generate(directory: Path, workloads: int, nodes: int, per_file: int = 100) -> None:
    """``workloads`` + ``nodes`` objects in multi-document YAML files of ``per_file`` each."""
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    objects = [workload(i, nodes) for i in range(workloads)] + [node(i) for i in range(nodes)]
    for start in range(0, len(objects), per_file):
        chunk = objects[start : start + per_file]
        text = yaml.dump_all(chunk, Dumper=dumper)
        (directory / f"objects-{start // per_file:04d}.yaml").write_text(text)


class Service:
    """The reference service in a subprocess, until ``stop``."""

    def __init__(self, store: str, log: Path, root: Path = ROOT) -> None:
        env = dict(os.environ, PYTHONPATH=str(root))
        argv = [sys.executable, "-m", "kg_exporter.service", "--store", store]
        with open(log, "ab") as err:
            # In the tree's directory: `python -m` puts the working directory before PYTHONPATH.
            self.process = subprocess.Popen(
                [*argv, "--listen", "127.0.0.1:0"],
                stdout=subprocess.PIPE,
                stderr=err,
                env=env,
                cwd=root,
            )
        self.url = self._announced(log)

    def _announced(self, log: Path) -> str:
        assert self.process.stdout is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if select.select([self.process.stdout], [], [], 0.1)[0]:
                line = self.process.stdout.readline().decode().strip()
                if line.startswith("listening on "):
                    return line.removeprefix("listening on ")
            if self.process.poll() is not None:
                break
        self.stop()
        raise RuntimeError(f"the service did not start; see {log}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        if self.process.stdout is not None:
            self.process.stdout.close()


@dataclass(frozen=True)
class Timing:
    wall: float
    #: CPU seconds (user + system, all threads) of the backfill process and of the service during
    #: it: what the run costs whatever else the machine is doing; the wall time is at least their
    #: sum over the number of CPUs.
    backfill_cpu: float
    service_cpu: float
    summary: str
    #: Peak resident memory of the backfill process and of the service (its life so far), MiB.
    backfill_rss_mib: float = float("nan")
    service_rss_mib: float = float("nan")
    #: The service's CPU seconds by who spent them: "main" (the event loop), "rocksdb" (its
    #: flushes and compactions), "other" (the threads that load, parse and write), "workers".
    service_split: dict[str, float] | None = None


def timed_backfill(command: list[str], service: Service, root: Path = ROOT) -> Timing:
    env = dict(os.environ, PYTHONPATH=str(root))
    pid = service.process.pid
    service_before = tree_cpu_seconds(pid)
    split_before = {**cpu_by_thread(pid), "workers": service_before - cpu_seconds(pid)}
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env, cwd=root)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        service_cpu = tree_cpu_seconds(pid) - service_before
        split = {**cpu_by_thread(pid), "workers": tree_cpu_seconds(pid) - cpu_seconds(pid)}
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if process.returncode != 0:
        raise RuntimeError(f"backfill exited {process.returncode}:\n{stderr[-2000:]}")
    summary = stdout.splitlines()[0].split(": ", 1)[1]
    return Timing(
        wall,
        usage.ru_utime + usage.ru_stime,
        service_cpu,
        summary,
        backfill_rss_mib=usage.ru_maxrss / 1024,  # KiB on Linux
        service_rss_mib=memory_mib(pid)[1],
        service_split={name: split[name] - split_before[name] for name in split},
    )


def timed(argv: list[str], stdout: Path | None = None) -> tuple[float, float]:
    """(wall, CPU) seconds of running ``argv`` to its end, its standard output to ``stdout``."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    started = time.perf_counter()
    with open(stdout or os.devnull, "wb") as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(argv, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(argv[:4])} failed:\n{err.read().decode()[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime


def oxigraph() -> str:
    """The ``oxigraph`` CLI (the test extra's ``oxigraph`` package), next to this interpreter."""
    found = shutil.which("oxigraph") or str(Path(sys.executable).parent / "oxigraph")
    if not Path(found).exists():
        raise SystemExit("bench/backfill.py needs the oxigraph CLI: pip install oxigraph")
    return found


@dataclass(frozen=True)
class Peers:
    """The same run's figures of the store's own bulk load and of the file outputs, (wall, CPU)."""

    oxigraph_load: tuple[float, float]
    render: dict[str, tuple[float, float]]
    dry_run: tuple[float, float]


def peers_run(manifests: Path, workdir: Path, *, formats: bool) -> Peers:
    kg = [sys.executable, "-m", "kg_exporter.cli"]
    quads = workdir / "all.nq"
    render: dict[str, tuple[float, float]] = {}
    for fmt in ("jsonld", "nquads", "turtle") if formats else ("nquads",):
        out = quads if fmt == "nquads" else workdir / f"all.{fmt}"
        render[fmt] = timed([*kg, "render", "--format", fmt, str(manifests)], out)
    # The same quads the backfill writes, into an empty on-disk store by Oxigraph's bulk loader.
    load = timed(
        [oxigraph(), "load", "--location", str(workdir / "oxigraph"), "--file", str(quads)]
    )
    dry_run = (math.nan, math.nan)
    if formats:
        out = workdir / "dry-run"
        dry_run = timed(
            [*kg, "backfill", "--manifests", str(manifests), "--dry-run", "--out", str(out)]
        )
    for name in ("all.nq", "all.jsonld", "all.turtle"):
        (workdir / name).unlink(missing_ok=True)
    shutil.rmtree(workdir / "oxigraph", ignore_errors=True)
    shutil.rmtree(workdir / "dry-run", ignore_errors=True)
    return Peers(load, render, dry_run)


def one_run(
    manifests: Path,
    workdir: Path,
    *,
    memory: bool,
    concurrency: int,
    again: bool,
    batch: int,
    root: Path = ROOT,
) -> list[Timing]:
    store = ":memory:" if memory else str(workdir / "store")
    service = Service(store, workdir / "service.log", root)
    command = [sys.executable, "-m", "kg_exporter.cli", "backfill", "--manifests", str(manifests)]
    command += ["--sink", service.url, "--concurrency", str(concurrency), "--batch", str(batch)]
    try:
        timings = [timed_backfill(command, service, root)]
        if again:
            timings.append(timed_backfill(command, service, root))
    finally:
        service.stop()
    shutil.rmtree(workdir / "store", ignore_errors=True)
    return timings


def _cpu(timing: Timing) -> float:
    return timing.backfill_cpu + timing.service_cpu


def _described(timing: Timing) -> str:
    split = ""
    if timing.service_split is not None:
        split = " (" + ", ".join(f"{k} {v:.1f}" for k, v in timing.service_split.items()) + ")"
    return (
        f"{timing.wall:.1f} s wall; CPU: backfill {timing.backfill_cpu:.1f} s, service "
        f"{timing.service_cpu:.1f} s{split}; peak RSS: backfill {timing.backfill_rss_mib:.0f} "
        f"MiB, service {timing.service_rss_mib:.0f} MiB ({timing.summary})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", type=int, default=10_000)
    parser.add_argument("--nodes", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--batch", type=int, default=256, help="backfill --batch")
    parser.add_argument("--memory", action="store_true", help="service store in memory")
    parser.add_argument("--again", action="store_true", help="also time a second, idempotent run")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout whose code is also timed in each run, right after this one's",
    )
    parser.add_argument(
        "--formats",
        action="store_true",
        help="also time render --format jsonld|nquads|turtle and backfill --dry-run",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kg-bench-") as tmp:
        manifests = Path(tmp) / "manifests"
        manifests.mkdir()
        generate(manifests, args.workloads, args.nodes)
        subgraphs = 2 * (args.workloads + args.nodes) + 2
        store = "in memory" if args.memory else "on disk"
        print(
            f"{args.workloads:,} workloads + {args.nodes:,} nodes = {subgraphs:,} subgraphs "
            f"into the reference Metadata Service (store {store}, --batch {args.batch}), "
            f"{os.cpu_count()} CPUs; beside each run, `oxigraph load` of the same quads into an "
            "empty on-disk store",
            flush=True,
        )
        firsts: list[Timing] = []
        peers: list[Peers] = []
        baselines: list[Timing] = []
        for run in range(args.runs):
            workdir = Path(tmp) / f"run-{run}"
            workdir.mkdir()
            peer = peers_run(manifests, workdir, formats=args.formats)
            timings = one_run(
                manifests,
                workdir,
                memory=args.memory,
                concurrency=args.concurrency,
                again=args.again,
                batch=args.batch,
            )
            firsts.append(timings[0])
            peers.append(peer)
            for label, timing in zip(("run", "  again"), timings, strict=False):
                print(f"{label} {run + 1}: {_described(timing)}")
            load = peer.oxigraph_load
            print(
                f"  oxigraph load: {load[0]:.1f} s wall, {load[1]:.1f} s CPU; backfill / load: "
                f"{timings[0].wall / load[0]:.2f}x"
            )
            if args.baseline is not None:
                baseline = one_run(
                    manifests,
                    workdir,
                    memory=args.memory,
                    concurrency=args.concurrency,
                    again=False,
                    batch=args.batch,
                    root=args.baseline.resolve(),
                )[0]
                baselines.append(baseline)
                print(
                    f"  baseline {args.baseline}: {_described(baseline)}; baseline / load: "
                    f"{baseline.wall / load[0]:.2f}x"
                )
            if args.formats:
                print(
                    "  render: "
                    + ", ".join(
                        f"{f} {w:.1f} s ({c:.1f} s CPU)" for f, (w, c) in peer.render.items()
                    )
                    + f"; backfill --dry-run {peer.dry_run[0]:.1f} s ({peer.dry_run[1]:.1f} s CPU)"
                )
            print("", end="", flush=True)
        median = statistics.median(t.wall for t in firsts)
        cores = os.cpu_count() or 1
        bound = statistics.median((t.backfill_cpu + t.service_cpu) / cores for t in firsts)
        ratio = statistics.median(
            t.wall / p.oxigraph_load[0] for t, p in zip(firsts, peers, strict=True)
        )
        load_median = statistics.median(p.oxigraph_load[0] for p in peers)
        verdict = "meets" if ratio <= TARGET_RATIO else "misses"
        if baselines:
            before = statistics.median(
                t.wall / p.oxigraph_load[0] for t, p in zip(baselines, peers, strict=True)
            )
            side = statistics.median(
                t.wall / b.wall for t, b in zip(firsts, baselines, strict=True)
            )
            print(
                f"baseline {args.baseline}: backfill / oxigraph load, median {before:.2f}x; "
                f"this tree / baseline, median of the runs' ratios: {side:.2f}x wall, CPU "
                f"{statistics.median(_cpu(t) for t in firsts):.1f} s against "
                f"{statistics.median(_cpu(t) for t in baselines):.1f} s (medians)"
            )
        print(
            f"median: {median:.1f} s ({subgraphs / median:,.0f} subgraphs/s); oxigraph load "
            f"{load_median:.1f} s; backfill / oxigraph load, median of the runs' ratios: "
            f"{ratio:.2f}x, {verdict} the target of <= {TARGET_RATIO}x. Both processes' CPU time "
            f"over the {cores} CPUs, the least wall time this work could take here: {bound:.1f} s"
        )
        if args.formats:
            for fmt in ("nquads", "turtle"):
                times = statistics.median(p.render[fmt][0] / p.render["jsonld"][0] for p in peers)
                cpu = statistics.median(p.render[fmt][1] / p.render["jsonld"][1] for p in peers)
                print(
                    f"render --format {fmt} / --format jsonld: {times:.2f}x wall, {cpu:.2f}x CPU "
                    f"(target <= {TARGET_RENDER_RATIO}x)"
                )
            dry = statistics.median(
                p.dry_run[0] / t.wall for t, p in zip(firsts, peers, strict=True)
            )
            print(
                f"backfill --dry-run / backfill --sink: {dry:.2f}x wall (target <= 1: files "
                "written at least as fast as the service ingests)"
            )
        load = os.getloadavg()[0]
        if load > (os.cpu_count() or 1) + 0.5:
            print(f"warning: load average {load:.1f}: other work competed for the CPUs")


if __name__ == "__main__":
    main()
