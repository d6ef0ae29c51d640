"""A small exporter serving the node and pod series the published exporter's measurement
configuration (``peers/glaciation/exporter/config.yaml``) queries, under its label names.

Gauges hold known values and counters grow at known rates, so a test can check that the values a
reader finds in the GLACIATION Metadata Service are the ones served, not merely some.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

NODE_EXPORTER = {"service": "monitoring-stack-prometheus-node-exporter"}

#: Gauges (exact in the graph) and counter rates per second (approximate: a rate over scrapes).
NODE_MEMORY_FREE = 6_000_000_000.0
NODE_STORAGE_AVAILABLE = 50_000_000_000.0
NODE_IDLE_CORES = 3.0
POD_STORAGE_USAGE = 123_456_789.0
POD_CPU_CORES = 0.25


@dataclass(frozen=True)
class Subjects:
    nodes: tuple[str, ...]
    #: (namespace, pod)
    pods: tuple[tuple[str, str], ...]


class ConfigSeries(Collector):
    def __init__(self, subjects: Subjects) -> None:
        self._subjects = subjects
        self._started = time.monotonic()

    def collect(self) -> Iterable[Metric]:
        elapsed = time.monotonic() - self._started
        nodes, pods = self._subjects.nodes, self._subjects.pods

        def gauge(name: str, labels: list[str], rows: list[tuple[list[str], float]]) -> Metric:
            family = GaugeMetricFamily(name, name, labels=labels)
            for values, value in rows:
                family.add_metric(values, value)
            return family

        def counter(name: str, labels: list[str], rows: list[tuple[list[str], float]]) -> Metric:
            family = CounterMetricFamily(name, name, labels=labels)
            for values, rate in rows:
                family.add_metric(values, rate * elapsed)
            return family

        yield counter(
            "node_cpu_seconds_total",
            ["mode", "service", "node"],
            [(["idle", NODE_EXPORTER["service"], n], NODE_IDLE_CORES) for n in nodes],
        )
        yield gauge(
            "node_memory_MemFree_bytes",
            ["service", "node"],
            [([NODE_EXPORTER["service"], n], NODE_MEMORY_FREE) for n in nodes],
        )
        yield gauge(
            "ephemeral_storage_node_available",
            ["node_name"],
            [([n], NODE_STORAGE_AVAILABLE) for n in nodes],
        )
        yield counter(
            "kepler_node_platform_joules_total", ["exported_instance"], [([n], 40.0) for n in nodes]
        )
        yield counter(
            "container_cpu_usage_seconds_total",
            ["namespace", "pod"],
            [([ns, p], POD_CPU_CORES) for ns, p in pods],
        )
        yield gauge(
            "container_memory_working_set_bytes",
            ["namespace", "pod"],
            [([ns, p], 300e6) for ns, p in pods],
        )
        for direction in ("receive", "transmit"):
            yield counter(
                f"container_network_{direction}_bytes_total",
                ["namespace", "pod"],
                [([ns, p], 1000.0) for ns, p in pods],
            )
        yield gauge(
            "ephemeral_storage_pod_usage",
            ["pod_namespace", "pod_name"],
            [([ns, p], POD_STORAGE_USAGE) for ns, p in pods],
        )
        yield counter(
            "kepler_container_joules_total",
            ["container_namespace", "pod_name"],
            [([ns, p], 2.0) for ns, p in pods],
        )


def registry_for(subjects: Subjects) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(ConfigSeries(subjects))
    return registry
