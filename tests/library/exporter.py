"""A small exporter for the read-path test: the series the default workload and node telemetry
templates query, for one pod and one node, under this installation's label names.

Counters grow at a known rate and gauges hold known values, so a test can check that the history
it reads back through the graph is the right one, not merely some.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from tests.support.processes import free_port

#: Label names this "installation" uses (all different from the defaults, so the test proves the
#: settings reach every query). `instance` is Prometheus's own target label, hence `hostname`.
LABELS = {
    "namespace": "k8s_namespace",
    "pod": "k8s_pod",
    "container": "k8s_container",
    "node": "k8s_node",
    "instance": "hostname",
}
NAMESPACE, POD, CONTAINER = "shop", "web-7d4b9c6f5d-x2x9z", "nginx"
NODE = "node-1"

#: Counter rates (per second) and gauge values the exporter serves.
CPU_SECONDS_PER_SECOND = 0.25
MEMORY_BYTES = 300e6
NODE_MEMORY_TOTAL, NODE_MEMORY_AVAILABLE = 8e9, 6e9

#: Metric names of the default templates each subject's series feed.
WORKLOAD_METRICS = {"cpu_usage", "mem_usage", "disk_usage", "network_usage", "energy_joules"}
NODE_METRICS = {"cpu_usage", "mem_usage", "disk_usage", "network_usage", "energy_joules"}


class _Series(Collector):
    def __init__(self) -> None:
        self._started = time.monotonic()

    def collect(self) -> Iterable[Metric]:
        elapsed = time.monotonic() - self._started
        pod = [LABELS["namespace"], LABELS["pod"]]
        container = [*pod, LABELS["container"]]
        pod_values = [NAMESPACE, POD]
        container_values = [*pod_values, CONTAINER]

        def counter(name: str, labels: list[str], values: list[str], rate: float) -> Metric:
            family = CounterMetricFamily(name, name, labels=labels)
            family.add_metric(values, rate * elapsed)
            return family

        def gauge(name: str, labels: list[str], values: list[str], value: float) -> Metric:
            family = GaugeMetricFamily(name, name, labels=labels)
            family.add_metric(values, value)
            return family

        yield counter(
            "container_cpu_usage_seconds_total", container, container_values, CPU_SECONDS_PER_SECOND
        )
        yield gauge("container_memory_working_set_bytes", container, container_values, MEMORY_BYTES)
        yield gauge("container_fs_usage_bytes", container, container_values, 50e6)
        yield counter("container_network_receive_bytes_total", pod, pod_values, 1000)
        yield counter("container_network_transmit_bytes_total", pod, pod_values, 500)
        yield counter("kepler_container_joules_total", pod, pod_values, 3)

        host = [LABELS["instance"]]
        host_values = [f"{NODE}:9100"]
        cpu = CounterMetricFamily("node_cpu_seconds_total", "cpu", labels=[*host, "mode"])
        cpu.add_metric([*host_values, "idle"], 0.5 * elapsed)
        cpu.add_metric([*host_values, "user"], 1.5 * elapsed)
        yield cpu
        yield gauge("node_memory_MemTotal_bytes", host, host_values, NODE_MEMORY_TOTAL)
        yield gauge("node_memory_MemAvailable_bytes", host, host_values, NODE_MEMORY_AVAILABLE)
        fs = [*host, "fstype"]
        yield gauge("node_filesystem_size_bytes", fs, [*host_values, "ext4"], 100e9)
        yield gauge("node_filesystem_avail_bytes", fs, [*host_values, "ext4"], 40e9)
        nic = [*host, "device"]
        yield counter("node_network_receive_bytes_total", nic, [*host_values, "eth0"], 2000)
        yield counter("node_network_transmit_bytes_total", nic, [*host_values, "eth0"], 1000)
        yield counter("kepler_node_platform_joules_total", [LABELS["node"]], [NODE], 40)


@dataclass(frozen=True)
class Exporter:
    target: str  # host:port, as a scrape target


@contextlib.contextmanager
def running_exporter() -> Iterator[Exporter]:
    """The exporter on 127.0.0.1 and a free port until the block ends."""
    registry = CollectorRegistry()
    registry.register(_Series())
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    try:
        yield Exporter(f"127.0.0.1:{port}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def manifests() -> str:
    """The Deployment and Node the series belong to, as a manifest file."""
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {NAMESPACE}, creationTimestamp: "2026-11-01T09:00:00Z"}}
spec:
  replicas: 1
  template:
    spec:
      nodeName: {NODE}
      containers: [{{name: {CONTAINER}, image: "nginx:1.27"}}]
status:
  availableReplicas: 1
---
apiVersion: v1
kind: Node
metadata: {{name: {NODE}}}
status:
  conditions: [{{type: Ready, status: "True"}}]
"""
