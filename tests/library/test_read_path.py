"""The whole read path against real servers, through the public API only.

A small exporter serves the series the default templates query (under non-default label names);
Debian's Prometheus scrapes it every second; ``kg-exporter backfill`` writes the workload, its node
and the glaciation node into the reference Metadata Service; then ``kg_exporter`` fetches each
telemetry subgraph, parses it and pulls every metric's history from Prometheus. The example in
docs/library.md runs against the same servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

import kg_exporter
from kg_exporter.cli import main
from tests.library import exporter
from tests.sink.servers import reference_service
from tests.support.prometheus import start_prometheus

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.prometheus, pytest.mark.timeout(120)]
CLUSTER = "cluster1"


@dataclass(frozen=True)
class Servers:
    metadata_url: str
    prometheus_url: str


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    workdir = tmp_path_factory.mktemp("read-path")
    with contextlib.ExitStack() as stack:
        scraped = stack.enter_context(exporter.running_exporter())
        (workdir / "prometheus").mkdir()
        prometheus = stack.enter_context(
            start_prometheus(workdir / "prometheus", scrape_targets=[scraped.target])
        )
        service = stack.enter_context(
            reference_service(workdir / "store", log=workdir / "service.log")
        )
        config = workdir / "settings.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "prometheus_url": prometheus.url,
                    # ≥ 4x the 1 s scrape interval, and short: history has rates within seconds.
                    "rate_window": "4s",
                    "labels": exporter.LABELS,
                    "sink": {"max_attempts": 3, "backoff_initial_seconds": 0.05},
                }
            )
        )
        manifests = workdir / "cluster.yaml"
        manifests.write_text(exporter.manifests())
        argv = ["backfill", "--manifests", str(manifests), "--sink", service.url]
        code = main([*argv, "--config", str(config)])
        assert code == 0
        servers = Servers(service.url, prometheus.url)
        asyncio.run(_wait_for_rates(servers))
        yield servers


async def _wait_for_rates(servers: Servers, wait_seconds: float = 40.0) -> None:
    """Until every workload metric has a steady history (the first scrape takes ~5 s)."""
    async with kg_exporter.MetadataClient.connect(servers.metadata_url) as metadata:
        telemetry = await metadata.workload_telemetry(CLUSTER, "Deployment", "shop", "web")
    assert telemetry is not None
    deadline = time.monotonic() + wait_seconds
    async with kg_exporter.PrometheusClient(servers.prometheus_url) as prometheus:
        while True:
            end = time.time()
            answers = [
                await prometheus.history(m, start=end - 30, end=end, step=1)
                for m in telemetry.metrics
            ]
            # Six seconds of values: a rate window (4 s) is then full of samples and steady.
            if all(len(_finite(series)) >= 6 for series in answers):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"no history after {wait_seconds} s: {answers}")
            await asyncio.sleep(0.5)


def _finite(series: list[kg_exporter.Series]) -> list[float]:
    return [s.value for one in series for s in one.samples if math.isfinite(s.value)]


async def _histories(
    telemetry: kg_exporter.Telemetry,
) -> dict[str, list[kg_exporter.Series]]:
    end = datetime.now(UTC)
    assert telemetry.prometheus_url is not None
    async with kg_exporter.PrometheusClient(telemetry.prometheus_url) as prometheus:
        return {
            m.name: await prometheus.history(
                m, start=end - timedelta(seconds=60), end=end, step=timedelta(seconds=1)
            )
            for m in telemetry.metrics
        }


async def test_a_workload_read_through_the_graph_has_history_for_every_metric(
    servers: Servers,
) -> None:
    async with kg_exporter.MetadataClient.connect(servers.metadata_url) as metadata:
        telemetry = await metadata.workload_telemetry(CLUSTER, "Deployment", "shop", "web")
        assert [key.name for key in await metadata.workloads(CLUSTER)] == ["web"]
    assert telemetry is not None
    assert telemetry.prometheus_url == servers.prometheus_url
    assert {m.name for m in telemetry.metrics} == exporter.WORKLOAD_METRICS
    for metric in telemetry.metrics:
        assert "k8s_namespace=" in metric.promql and "k8s_pod=~" in metric.promql
    assert telemetry.logql is not None and telemetry.logql.startswith('{k8s_namespace="shop"')
    histories = await _histories(telemetry)
    for name, series in histories.items():
        assert len(series) == 1 and _finite(series), name
    # The right series, not just some: the exporter's rate and value, through the template's math.
    assert 15 < _finite(histories["cpu_usage"])[-1] < 35  # 0.25 CPU s/s = 25 %
    assert _finite(histories["mem_usage"])[-1] == pytest.approx(exporter.MEMORY_BYTES / 1e6)


async def test_a_node_and_the_glaciation_node_read_the_same_way(servers: Servers) -> None:
    async with kg_exporter.MetadataClient.connect(servers.metadata_url) as metadata:
        node = await metadata.node_telemetry(CLUSTER, exporter.NODE)
        gnode = await metadata.glaciation_node_telemetry(CLUSTER, "glaciation-node1")
    assert node is not None and gnode is not None
    assert {m.name for m in node.metrics} == exporter.NODE_METRICS
    node_history = await _histories(node)
    for name, series in node_history.items():
        assert _finite(series), name
    expected = (exporter.NODE_MEMORY_TOTAL - exporter.NODE_MEMORY_AVAILABLE) / 1e6
    assert _finite(node_history["mem_usage"])[-1] == pytest.approx(expected)
    # The cluster-wide queries: every series the exporter serves aggregates; GPUs it has none.
    cluster_history = await _histories(gnode)
    assert not _finite(cluster_history.pop("gpu_utilization"))
    for name, series in cluster_history.items():
        assert _finite(series), name


async def test_a_broken_query_is_a_prometheus_error_from_the_real_server(
    servers: Servers,
) -> None:
    async with kg_exporter.PrometheusClient(servers.prometheus_url) as prometheus:
        with pytest.raises(kg_exporter.PrometheusError, match=r"\(bad_data\)"):
            await prometheus.query_range('sum(rate(x{pod="a}[5m]))', start=0, end=60, step=15)


def library_example() -> str:
    """The docs/library.md code block that defines ``training_data``."""
    text = (ROOT / "docs" / "library.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    (example,) = [b for b in blocks if "async def training_data" in b]
    return example


def test_the_other_doc_snippets_are_python() -> None:
    text = (ROOT / "docs" / "library.md").read_text()
    for block in re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL):
        # Fragments use `await` outside a function: compile them the way a REPL would.
        compile(block, "docs/library.md", "exec", flags=0x2000)  # PyCF_ALLOW_TOP_LEVEL_AWAIT


async def test_the_documented_example_runs(servers: Servers) -> None:
    namespace: dict[str, Any] = {"__name__": "docs_library_example"}
    exec(compile(library_example(), "docs/library.md", "exec"), namespace)
    history = await namespace["training_data"](
        servers.metadata_url, CLUSTER, "Deployment", "shop", "web", hours=0.02, step=1
    )
    assert set(history) == exporter.WORKLOAD_METRICS
    for name, series in history.items():
        assert _finite(series), name
    with pytest.raises(LookupError, match="no telemetry for Deployment shop/nope"):
        await namespace["training_data"](
            servers.metadata_url, CLUSTER, "Deployment", "shop", "nope"
        )
