"""The alerts fire in the situations they are named after, and stay quiet on a healthy
installation: `promtool test rules` (Prometheus's own rule unit tests, simulated time) on the
PrometheusRule of deploy/, fed with series named as the daemon exports them."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.monitoring import (
    alert_rules,
    daemon_registry,
    exported_series,
    metrics_used,
    rule_groups,
)
from tests.support.processes import require_binary
from tests.support.prometheus import INSTALL_HINT

JOB = 'job="kg-exporter"'


def series(name: str, namespace: str, pod: str, values: str, **labels: str) -> dict[str, str]:
    extra = "".join(f',{k}="{v}"' for k, v in labels.items())
    return {
        "series": f'{name}{{{JOB},namespace="{namespace}",pod="{pod}"{extra}}}',
        "values": values,
    }


def healthy_pod(namespace: str, pod: str, *, leader: int) -> list[dict[str, str]]:
    """A replica doing fine: 60 one-minute samples."""
    return [
        series("up", namespace, pod, "1x60"),
        series("kg_exporter_leader", namespace, pod, f"{leader}x60"),
        series("kg_exporter_ready", namespace, pod, "1x60"),
        series("kg_exporter_queue_depth", namespace, pod, "0x60", state="ready"),
        series("kg_exporter_queue_depth", namespace, pod, "0x60", state="backoff"),
        # Wrote something a minute ago, every minute (the timestamp keeps up with time()).
        series("kg_exporter_last_successful_write_timestamp_seconds", namespace, pod, "0+60x60"),
        series(
            "kg_exporter_writes_total",
            namespace,
            pod,
            "0+6x60",
            subgraph_kind="workload",
            outcome="created",
        ),
        series(
            "kg_exporter_watch_restarts_total",
            namespace,
            pod,
            "0+1x60",
            kind="Deployment",
            reason="timeout",
        ),
    ]


# namespace -> (input series, {alert that must fire there at minute 30: its labels besides
# alertname, severity and namespace}); no other alert may fire there.
SCENARIOS: dict[str, tuple[list[dict[str, str]], dict[str, dict[str, str]]]] = {
    "healthy": (
        healthy_pod("healthy", "a", leader=1) + healthy_pod("healthy", "b", leader=0),
        {},
    ),
    "leaderless": (
        healthy_pod("leaderless", "a", leader=0) + healthy_pod("leaderless", "b", leader=0),
        {"KgExporterNoLeader": {"job": "kg-exporter"}},
    ),
    "split": (
        healthy_pod("split", "a", leader=1) + healthy_pod("split", "b", leader=1),
        {"KgExporterSeveralLeaders": {"job": "kg-exporter"}},
    ),
    "syncing": (
        [s for s in healthy_pod("syncing", "a", leader=1) if "kg_exporter_ready" not in s["series"]]
        + [series("kg_exporter_ready", "syncing", "a", "0x60")],
        {"KgExporterInitialSyncNotDone": {"job": "kg-exporter", "pod": "a"}},
    ),
    "failing": (
        [
            *healthy_pod("failing", "a", leader=1),
            series(
                "kg_exporter_writes_total",
                "failing",
                "a",
                "0+3x60",
                subgraph_kind="workload",
                outcome="unavailable",
            ),
        ],
        {"KgExporterWritesFailing": {"job": "kg-exporter"}},
    ),
    "rejecting": (
        [
            *healthy_pod("rejecting", "a", leader=1),
            series(
                "kg_exporter_writes_total",
                "rejecting",
                "a",
                "0x20 1x40",
                subgraph_kind="workload-telemetry",
                outcome="rejected",
            ),
        ],
        {"KgExporterWritesRejected": {"job": "kg-exporter", "subgraph_kind": "workload-telemetry"}},
    ),
    "backlog": (
        [s for s in healthy_pod("backlog", "a", leader=1) if 'state="ready"' not in s["series"]]
        + [series("kg_exporter_queue_depth", "backlog", "a", "0+10x60", state="ready")],
        {"KgExporterQueueBacklogGrowing": {"pod": "a"}},
    ),
    "stalled": (
        [
            s
            for s in healthy_pod("stalled", "a", leader=1)
            if "last_successful" not in s["series"] and 'state="backoff"' not in s["series"]
        ]
        + [
            series("kg_exporter_last_successful_write_timestamp_seconds", "stalled", "a", "0x60"),
            series("kg_exporter_queue_depth", "stalled", "a", "5x60", state="backoff"),
        ],
        {"KgExporterStalled": {"job": "kg-exporter", "pod": "a"}},
    ),
    "blind": (
        [
            *healthy_pod("blind", "a", leader=1),
            series(
                "kg_exporter_watch_restarts_total",
                "blind",
                "a",
                "0+2x60",
                kind="Job",
                reason="error",
            ),
        ],
        {"KgExporterWatchFailing": {"pod": "a", "kind": "Job"}},
    ),
    "forbidden": (
        [
            *healthy_pod("forbidden", "a", leader=1),
            series("kg_exporter_kind_forbidden", "forbidden", "a", "0x5 1x55", kind="JobSet"),
            series("kg_exporter_kind_forbidden", "forbidden", "a", "0x60", kind="Job"),
        ],
        {"KgExporterKindForbidden": {"pod": "a", "kind": "JobSet"}},
    ),
}


def promtool() -> str:
    return require_binary("promtool", INSTALL_HINT)


def write_rules(tmp_path: Path) -> Path:
    # promtool compares annotations exactly; what is tested here is when alerts fire, so the
    # annotations are left out (test_dashboard loads the full rules into a real Prometheus).
    groups = [
        {**g, "rules": [{k: v for k, v in r.items() if k != "annotations"} for r in g["rules"]]}
        for g in rule_groups()
    ]
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump({"groups": groups}))
    return path


def run_promtool(tmp_path: Path, tests: list[dict[str, Any]]) -> None:
    rules = write_rules(tmp_path)
    spec = tmp_path / "tests.yml"
    spec.write_text(
        yaml.safe_dump({"rule_files": [rules.name], "evaluation_interval": "1m", "tests": tests})
    )
    result = subprocess.run(
        [promtool(), "test", "rules", spec.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rules_read_only_metrics_the_daemon_exports() -> None:
    registry, _ = daemon_registry()
    known = exported_series(registry) | {"up"}
    for rule in alert_rules():
        assert metrics_used(rule["expr"]) <= known, rule["alert"]


def test_promtool_accepts_the_rules(tmp_path: Path) -> None:
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump({"groups": rule_groups()}))
    result = subprocess.run(
        [promtool(), "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_each_alert_fires_where_its_situation_is_and_nowhere_else(tmp_path: Path) -> None:
    inputs = [s for input_series, _ in SCENARIOS.values() for s in input_series]
    checks = []
    for rule in alert_rules():
        if rule["alert"] == "KgExporterDown":
            continue  # tested alone below: it is about the absence of every series
        fired = [
            {"severity": rule["labels"]["severity"], "namespace": ns, **alerts[rule["alert"]]}
            for ns, (_, alerts) in sorted(SCENARIOS.items())
            if rule["alert"] in alerts
        ]
        assert fired, f"no scenario makes {rule['alert']} fire"
        checks.append(
            {
                "eval_time": "30m",
                "alertname": rule["alert"],
                "exp_alerts": [{"exp_labels": labels} for labels in fired],
            }
        )
    run_promtool(tmp_path, [{"interval": "1m", "input_series": inputs, "alert_rule_test": checks}])


def test_down_fires_when_no_replica_answers_scrapes(tmp_path: Path) -> None:
    down = [series("up", "x", "a", "1x10 0x50"), series("up", "x", "b", "1x10 0x50")]
    run_promtool(
        tmp_path,
        [
            {
                "interval": "1m",
                "input_series": down,
                "alert_rule_test": [
                    {"eval_time": "12m", "alertname": "KgExporterDown", "exp_alerts": []},
                    {
                        "eval_time": "30m",
                        "alertname": "KgExporterDown",
                        "exp_alerts": [{"exp_labels": {"severity": "critical"}}],
                    },
                ],
            },
            {
                "interval": "1m",
                "input_series": healthy_pod("ok", "a", leader=1),
                "alert_rule_test": [
                    {"eval_time": "30m", "alertname": "KgExporterDown", "exp_alerts": []}
                ],
            },
        ],
    )
