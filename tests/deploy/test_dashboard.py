"""The dashboard and the alert rules on a real Prometheus: it scrapes the daemon's metrics
registry (with a value in every series), loads the PrometheusRule's groups, and every panel query
returns data while every rule evaluates without error."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client import CollectorRegistry, start_http_server

from kg_exporter.leader import LEADER_METRIC
from kg_exporter.metrics import DaemonMetrics
from tests.deploy.monitoring import (
    alert_rules,
    daemon_registry,
    dashboard,
    dashboard_queries,
    exported_series,
    metrics_used,
    rule_groups,
    variable_selectors,
)
from tests.support.processes import free_port, wait_until
from tests.support.prometheus import Prometheus, start_prometheus

# Labels Prometheus attaches to every scraped series (the operator adds namespace and pod).
TARGET_LABELS = {"namespace", "pod", "job", "instance", "service", "endpoint"}


def test_panels_read_only_metrics_and_labels_the_daemon_exports() -> None:
    registry, _ = daemon_registry()
    known = exported_series(registry)
    labels = {
        label for family in registry.collect() for label in _label_names(family.name, registry)
    }
    for query in dashboard_queries() + variable_selectors():
        assert metrics_used(query), query
        assert metrics_used(query) <= known, query
        for group in re.findall(r"\bby \(([^)]*)\)", query):
            grouped = {g.strip() for g in group.split(",")}
            assert grouped <= labels | TARGET_LABELS | {"le"}, query


def _label_names(name: str, registry: CollectorRegistry) -> tuple[str, ...]:
    collector = registry._names_to_collectors.get(name) or registry._names_to_collectors.get(
        name + "_total"
    )
    return tuple(getattr(collector, "_labelnames", ()))


def test_dashboard_panels_are_laid_out_and_unique() -> None:
    board = dashboard()
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        assert panel["datasource"]["uid"] == "${datasource}" and panel["targets"], panel["title"]
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24


def fill(metrics: DaemonMetrics, registry: CollectorRegistry) -> None:
    """A value in every series the panels and rules select, as a busy daemon would have."""
    for kind in ("Deployment", "StatefulSet", "Job", "Node"):
        for kind_type in ("LISTED", "ADDED", "MODIFIED", "DELETED", "BOOKMARK"):
            metrics.watch_events.labels(kind, kind_type).inc(3)
        for reason in ("expired", "dropped", "timeout", "error"):
            metrics.watch_restarts.labels(kind, reason).inc()
        for phase in ("running", "stopped"):
            metrics.transitions.labels(kind, phase).inc()
        metrics.tracked.labels(kind).set(7)
    for subgraph_kind in ("workload", "workload-telemetry", "node", "node-telemetry"):
        for outcome in ("created", "replaced", "unchanged", "unavailable", "rejected"):
            metrics.writes.labels(subgraph_kind, outcome).inc(2)
        metrics.write_seconds.labels(subgraph_kind).observe(0.02)
    for reason in ("unavailable", "error"):
        metrics.retries.labels(reason).inc()
    metrics.last_write.set(time.time())
    metrics.watch_queue(lambda: 3, lambda: 1, lambda: 2)
    metrics.ready.set(1)
    registry._names_to_collectors[LEADER_METRIC].set(1)  # type: ignore[attr-defined]


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Prometheus]:
    registry, metrics = daemon_registry()
    fill(metrics, registry)
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    # Counters keep moving so rate() has something to show.
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(0.2):
            metrics.writes.labels("workload", "created").inc()
            metrics.write_seconds.labels("workload").observe(0.05)

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    try:
        with start_prometheus(tmp_path, [f"127.0.0.1:{port}"]) as prom:
            _configure(prom, tmp_path, f"127.0.0.1:{port}")
            yield prom
    finally:
        stop.set()
        server.shutdown()
        thread.join(5)
        ticker.join(5)


def _configure(prom: Prometheus, workdir: Path, target: str) -> None:
    """Scrape as the operator would label it, and load the PrometheusRule's groups."""
    (workdir / "rules.yml").write_text(yaml.safe_dump({"groups": rule_groups()}))
    config = yaml.safe_load((workdir / "prometheus.yml").read_text())
    config["rule_files"] = [str(workdir / "rules.yml")]
    config["scrape_configs"] = [
        {
            "job_name": "kg-exporter",
            "static_configs": [
                {"targets": [target], "labels": {"namespace": "kg-exporter", "pod": "kg-0"}}
            ],
        }
    ]
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
    reload = httpx.post(f"{prom.url}/-/reload", timeout=10)
    assert reload.status_code == 200, reload.text  # a rule Prometheus cannot load fails here


def _has_data(prom: Prometheus, query: str) -> bool:
    answer = prom.query(query)
    return answer["status"] == "success" and bool(answer["data"]["result"])


def _rules(prom: Prometheus) -> list[dict[str, Any]]:
    groups = httpx.get(f"{prom.url}/api/v1/rules", timeout=10).json()["data"]["groups"]
    return [rule for group in groups for rule in group["rules"]]


@pytest.mark.prometheus
def test_every_panel_query_returns_data_and_every_rule_evaluates(prometheus: Prometheus) -> None:
    # rate() over 1m needs two scrapes of the new job; targets are applied every 5 s.
    wait_until(
        lambda: _has_data(prometheus, "rate(kg_exporter_writes_total[1m])"),
        timeout=30,
        what="two scrapes",
    )
    for query in dashboard_queries() + variable_selectors():
        answer = prometheus.query(query)
        assert answer["status"] == "success", (query, answer)
        assert answer["data"]["result"], f"no data for panel query {query}"

    for rule in alert_rules():
        answer = prometheus.query(rule["expr"])
        assert answer["status"] == "success", (rule["alert"], answer)

    wait_until(
        lambda: all(r.get("lastEvaluation", "").startswith("2") for r in _rules(prometheus)),
        timeout=15,
        what="rule evaluation",
    )
    loaded = _rules(prometheus)
    assert {r["name"] for r in loaded} == {r["alert"] for r in alert_rules()}
    assert [(r["name"], r.get("lastError")) for r in loaded if r["health"] != "ok"] == []
