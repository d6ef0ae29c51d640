"""Daemon figures: event-to-write latency at a steady start rate, a burst of starts, and memory.

    python bench/daemon.py latency [--rate 200] [--seconds 10] [--runs 3] [--sink reference|stub]
    python bench/daemon.py burst   [--count 5000] [--runs 3] [--sink reference|stub|both|graph-store|all]
    (any of them: [--batch N] [--workers N]; default: the product's sink.batch_max, daemon.workers)
    python bench/daemon.py memory  [--count 10000] [--sink stub|reference]

- **latency**: Deployments wait at 0 available replicas; a driver thread sets
  ``availableReplicas: 1`` on one of them every 1/rate s. Latency = from just before the fake API
  server applies (and emits) that change to the moment the Metadata Service acknowledged the later
  of the workload's two PUTs, both on this process's monotonic clock (see daemon_stack.py).
- **burst**: ``count`` Deployments go from 0 to 1 available replica as fast as the fake API can
  apply it; time from the first change to the last acknowledged PUT.
- **memory**: ``count`` running Deployments (each with the noise a real API server sends:
  managedFields, the last-applied annotation, env values) are listed and written; the daemon's
  RSS is read from /proc once its queue is empty.

``--sink reference`` writes to the reference Metadata Service (through a timing proxy); ``stub``
acknowledges at once, isolating the daemon; ``both`` (burst only) alternates the two, run by run,
and prints the ratio of their medians (the target: reference <= 1.2x stub); ``graph-store`` writes
to ``oxigraph serve`` in memory through the daemon's ``graph-store`` sink (its batches: SPARQL
Updates of N-Triples converted in the daemon; the store's own HTTP server, the floor of a standard
RDF store), and ``all`` alternates the three.
Each burst run prints the CPU seconds every process spent (the service with its workers). Every
run builds a fresh stack; medians of the runs are printed. These machines have 2 cores shared with other work: the fake API server, the timing
sink, the Metadata Service and the daemon all compete for them, so figures are noisy.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.daemon_stack import Stack, queue_empty  # noqa: E402
from bench.procfs import cpu_seconds, memory_mib, tree_cpu_seconds  # noqa: E402
from kg_exporter.settings import DaemonSettings, SinkSettings  # noqa: E402

WID = "cluster1:workload:deployment:default:{}"
TID = "cluster1:workload-telemetry:deployment:default:{}"


def bench_deployment(name: str, *, running: bool = False) -> dict[str, Any]:
    """A Deployment shaped like a real one, noise included."""
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "shop", "tier": "web"}
    container = {
        "name": "app",
        "image": "registry.example.org/shop/app:1.4.2",
        "resources": {
            "requests": {"cpu": "250m", "memory": "256Mi"},
            "limits": {"cpu": "1", "memory": "512Mi"},
        },
        "env": [{"name": f"SETTING_{i}", "value": "x" * 40} for i in range(10)],
        "ports": [{"containerPort": 8080, "protocol": "TCP"}],
    }
    sidecar = {"name": "fluentd", "image": "fluent/fluentd:v1.17", "resources": {}}
    obj: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": "default",
            "labels": labels,
            "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": "{" + "x" * 1500 + "}",
                "deployment.kubernetes.io/revision": "3",
            },
            "managedFields": [
                {"manager": "kubectl", "operation": "Update", "fieldsV1": {"f:spec": {"x": {}}}}
            ]
            * 3,
        },
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [container, sidecar]},
            },
        },
    }
    if running:
        obj["status"] = {"replicas": 1, "availableReplicas": 1, "readyReplicas": 1}
    return obj


def load_average() -> str:
    return " / ".join(Path("/proc/loadavg").read_text().split()[:3])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def wait_acked(stack: Stack, names: list[str], timeout: float) -> dict[str, float] | None:
    """Every workload's two acknowledgement times, once all are in; None after ``timeout``."""
    assert stack.timing is not None
    wanted = 2 * len(names)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stack.timing.stats()["acked"] >= wanted:
            acked = stack.timing.acked()
            if all(WID.format(n) in acked and TID.format(n) in acked for n in names):
                return acked
        time.sleep(0.1)
    return None


def latency_run(args: argparse.Namespace) -> tuple[float, float, float, float]:
    count = int(args.rate * args.seconds)
    names = [f"lat-{i:05d}" for i in range(count)]
    with Stack(args.sink, **settings(args)) as stack:
        for name in names:
            stack.fake.create(bench_deployment(name))  # 0 available: pending, nothing written
        stack.start_daemon()
        time.sleep(1.0)
        gc.freeze()  # the fake's store: keep full collections off the clock
        emitted: dict[str, float] = {}
        interval = 1.0 / args.rate
        started = time.monotonic()
        for i, name in enumerate(names):
            slot = started + i * interval
            pause = slot - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            emitted[name] = time.monotonic()
            stack.fake.patch_status("Deployment", "default", name, {"availableReplicas": 1})
        achieved = count / (time.monotonic() - started)
        acked = wait_acked(stack, names, 120)
        if acked is None:
            raise SystemExit("not every start was written within 120 s")
        lat = [max(acked[WID.format(n)], acked[TID.format(n)]) - emitted[n] for n in names]
    p50, p99, worst = percentile(lat, 0.5), percentile(lat, 0.99), max(lat)
    print(
        f"  run: {count} starts at {achieved:.0f}/s: p50 {p50 * 1000:.1f} ms, "
        f"p99 {p99 * 1000:.1f} ms, max {worst * 1000:.1f} ms",
        flush=True,
    )
    return p50, p99, worst, achieved


def burst_run(args: argparse.Namespace) -> tuple[float, float]:
    names = [f"burst-{i:05d}" for i in range(args.count)]
    with Stack(args.sink, **settings(args)) as stack:
        for name in names:
            stack.fake.create(bench_deployment(name))
        stack.start_daemon()
        time.sleep(1.0)
        gc.freeze()  # the fake's store: keep full collections off the clock
        cpu_before = stack_cpu(stack)
        started = time.monotonic()
        # Two drivers: the fake applies changes on its own loop, so this is as fast as it goes.
        halves = [names[0::2], names[1::2]]
        threads = [
            threading.Thread(
                target=lambda part=part: [
                    stack.fake.patch_status("Deployment", "default", n, {"availableReplicas": 1})
                    for n in part
                ]
            )
            for part in halves
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        injected = time.monotonic() - started
        fake_injecting = time.process_time() - cpu_before["fake API"]
        acked = wait_acked(stack, names, 300)
        if acked is None:
            raise SystemExit("not every start was written within 300 s")
        last = max(max(acked[WID.format(n)], acked[TID.format(n)]) for n in names)
        cpu = {name: spent - cpu_before[name] for name, spent in stack_cpu(stack).items()}
    total = last - started
    spent = ", ".join(f"{name} {seconds:.1f}" for name, seconds in cpu.items())
    spent += f" ({fake_injecting:.1f} while applying the changes)"
    print(
        f"  run: {args.count} starts applied in {injected:.1f} s; all {2 * args.count} "
        f"subgraphs written {total:.1f} s after the first; CPU s: {spent}",
        flush=True,
    )
    return total, injected


def stack_cpu(stack: Stack) -> dict[str, float]:
    """CPU seconds spent so far by each process of the stack (the service with its workers;
    the benchmark process itself is the fake API server with its drivers): where a burst's CPU
    goes, which the two cores' sharing otherwise hides."""
    assert stack.daemon is not None and stack.timing is not None
    spent = {"daemon": cpu_seconds(stack.daemon.pid)}
    if stack.service is not None:
        spent["service"] = tree_cpu_seconds(stack.service.pid)
    spent["timing sink"] = cpu_seconds(stack.timing.proc.pid)
    spent["fake API"] = time.process_time()
    return spent


def memory_run(args: argparse.Namespace) -> tuple[float, float]:
    names = [f"mem-{i:05d}" for i in range(args.count)]
    with Stack(args.sink, **settings(args)) as stack:
        for name in names:
            stack.fake.create(bench_deployment(name, running=True))
        started = time.monotonic()
        stack.start_daemon()
        if wait_acked(stack, names, 900) is None:
            raise SystemExit("not every workload was written within 900 s")
        assert stack.daemon is not None
        while not queue_empty(stack.daemon_url):
            time.sleep(0.2)
        written = time.monotonic() - started
        time.sleep(2.0)
        current, peak = memory_mib(stack.daemon.pid)
    print(
        f"  run: {args.count} workloads tracked and written in {written:.1f} s; "
        f"RSS {current:.0f} MiB (peak {peak:.0f} MiB)",
        flush=True,
    )
    return current, peak


def settings(args: argparse.Namespace) -> dict[str, Any]:
    """The daemon settings given on the command line; the others keep the product's defaults."""
    given = {"batch": args.batch, "workers": args.workers}
    return {key: value for key, value in given.items() if value is not None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", choices=("latency", "burst", "memory"))
    parser.add_argument(
        "--sink", choices=("reference", "stub", "both", "graph-store", "all"), default="reference"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", type=float, default=200.0, help="latency: starts per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="latency: how long")
    parser.add_argument("--count", type=int, default=0, help="burst/memory: how many workloads")
    parser.add_argument("--workers", type=int, help="daemon.workers (default: the product's)")
    parser.add_argument(
        "--batch", type=int, help="sink.batch_max (1: a PUT each; default: the product's)"
    )
    args = parser.parse_args()
    print(
        f"{args.scenario} against the {args.sink} sink, daemon.workers "
        f"{args.workers or DaemonSettings().workers}, sink.batch_max "
        f"{args.batch or SinkSettings().batch_max}; load average {load_average()}",
        flush=True,
    )
    if args.scenario == "latency":
        runs = [latency_run(args) for _ in range(args.runs)]
        p50 = statistics.median(r[0] for r in runs) * 1000
        p99 = statistics.median(r[1] for r in runs) * 1000
        print(
            f"median of {args.runs} runs: p50 {p50:.1f} ms, p99 {p99:.1f} ms (target p99 < 100 ms)"
        )
    elif args.scenario == "burst":
        args.count = args.count or 5000
        if args.sink not in ("both", "all"):
            totals = [burst_run(args)[0] for _ in range(args.runs)]
            print(
                f"median of {args.runs} runs: {args.count} starts written in "
                f"{statistics.median(totals):.1f} s (target <= 15 s)"
            )
        else:
            both: dict[str, list[float]] = {"reference": [], "stub": []}
            if args.sink == "all":
                both["graph-store"] = []
            for _ in range(args.runs):
                for sink in both:
                    print(f" {sink}:", flush=True)
                    both[sink].append(
                        burst_run(argparse.Namespace(**{**vars(args), "sink": sink}))[0]
                    )
            reference, stub = (statistics.median(both[sink]) for sink in ("reference", "stub"))
            ratios = ", ".join(
                f"{r / s:.2f}x" for r, s in zip(both["reference"], both["stub"], strict=True)
            )
            print(
                f"median of {args.runs} runs: {args.count} starts written in {reference:.1f} s "
                f"through the reference service, {stub:.1f} s through the stub: "
                f"{reference / stub:.2f}x (runs: {ratios}; target <= 1.2x); "
                f"load average {load_average()}"
            )
            if "graph-store" in both:
                peer = statistics.median(both["graph-store"])
                ratios = ", ".join(
                    f"{g / s:.2f}x" for g, s in zip(both["graph-store"], both["stub"], strict=True)
                )
                print(
                    f"  oxigraph serve in memory (the graph-store sink): "
                    f"{peer:.1f} s, {peer / stub:.2f}x the stub (runs: {ratios})"
                )
    else:
        args.count = args.count or 10_000
        results = [memory_run(args) for _ in range(args.runs)]
        print(
            f"median of {args.runs} runs: RSS {statistics.median(r[0] for r in results):.0f} MiB "
            f"with {args.count} tracked workloads (target < 150 MB)"
        )


if __name__ == "__main__":
    main()
