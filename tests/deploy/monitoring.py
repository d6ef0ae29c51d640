"""The alert rules and dashboard queries of deploy/, and the metric families they may use."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric

from kg_exporter.leader import LEADER_METRIC, leader_gauge
from kg_exporter.metrics import DaemonMetrics
from tests.deploy.manifests import BASE, one, render

# Grafana's variables, as the dashboard's "All" options and a rate window would expand them.
GRAFANA_VARIABLES = {"$namespace": ".*", "$pod": ".*", "$__rate_interval": "1m"}
_METRIC = re.compile(r"\b(?:kg_exporter_|process_)[a-z0-9_]+\b|\bup\b")
# The series names a family of each type is exposed as (a counter `x` as `x_total`).
_SERIES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "gauge": ("",),
    "info": ("_info",),
}


def rule_groups() -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = one(render(BASE), "PrometheusRule")["spec"]["groups"]
    return groups


def alert_rules() -> list[dict[str, Any]]:
    return [rule for group in rule_groups() for rule in group["rules"]]


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((BASE / "dashboards" / "kg-exporter.json").read_text())
    return loaded


def dashboard_queries() -> list[str]:
    """Every PromQL expression of every panel, variables expanded."""
    exprs = [t["expr"] for p in dashboard()["panels"] for t in p.get("targets", [])]
    return [expand(e) for e in exprs]


def variable_selectors() -> list[str]:
    """The series selectors inside the variables' label_values(selector, label) queries."""
    found = []
    for variable in dashboard()["templating"]["list"]:
        if variable["type"] == "query":
            match = re.fullmatch(r"label_values\((.+),\s*\w+\)", variable["query"]["query"])
            assert match, variable["query"]
            found.append(expand(match.group(1)))
    return found


def expand(expr: str) -> str:
    for name, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(name, value)
    return expr


def daemon_registry() -> tuple[CollectorRegistry, DaemonMetrics]:
    """The registry as the daemon fills it: its metrics plus the leader gauge."""
    registry = CollectorRegistry()
    metrics = DaemonMetrics(registry)
    if LEADER_METRIC not in exported_series(registry):
        leader_gauge(registry)
    return registry, metrics


def exported_series(registry: CollectorRegistry) -> set[str]:
    """Every series name the registry exposes, labelled children created or not."""
    return series_of(registry.collect())


def series_of(families: Iterable[Metric]) -> set[str]:
    """The series names of metric families (collected, or parsed from a /metrics page, which
    announces a labelled family before it has any child)."""
    return {f.name + suffix for f in families for suffix in _SERIES.get(f.type, ("",))}


def metrics_used(expr: str) -> set[str]:
    """Metric names an expression reads (no label name of ours starts with kg_exporter_)."""
    return set(_METRIC.findall(expr))
