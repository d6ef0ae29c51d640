"""A Prometheus that is down, or a query that fails, costs that measurement only: counted every
time, logged once (and once more when it answers again), and the snapshot still goes out."""

from __future__ import annotations

import logging

import pytest
from prometheus_client import CollectorRegistry

from kg_exporter.glaciation.measurements import parse_measurements
from kg_exporter.glaciation.metrics import GlaciationMetrics
from kg_exporter.glaciation.sampler import Sampler
from kg_exporter.read.prometheus import PrometheusClient
from tests.support.processes import free_port

CONFIG = parse_measurements(
    {
        "builder": {
            "queries": {
                "node_queries": [
                    {"property": "RAM.Available", "unit": "bytes", "source": "NodeExporter",
                     "subresource": "RAM", "query": "node_memory_MemFree_bytes @{{now}}"},
                ],
                "pod_queries": [
                    {"property": "CPU.Usage", "unit": "Core", "source": "cAdvisor",
                     "query": "sum(rate(container_cpu_usage_seconds_total[5m] @{{now}})) by (pod)"},
                ],
            }
        }
    }
)  # fmt: skip


async def test_prometheus_down_is_counted_every_time_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    metrics = GlaciationMetrics(CollectorRegistry())
    async with PrometheusClient(f"http://127.0.0.1:{free_port()}", timeout=2) as client:
        sampler = Sampler(client, CONFIG, metrics)
        with caplog.at_level(logging.WARNING, logger="kg_exporter.glaciation"):
            for _ in range(3):
                assert await sampler.sample(1_800_000_000.0) == ([], [])
    assert metrics.query_failures.labels("RAM.Available", "node")._value.get() == 3
    assert metrics.query_failures.labels("CPU.Usage", "pod")._value.get() == 3
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2, warnings
    assert all("unreachable" in w and "not logged again" in w for w in warnings)


def test_now_is_the_evaluation_time_in_seconds() -> None:
    (query,) = CONFIG.node_queries
    assert query.promql(1796157193.4281) == "node_memory_MemFree_bytes @1796157193.428"
