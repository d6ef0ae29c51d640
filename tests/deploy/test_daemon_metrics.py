"""What a running daemon really serves on /metrics covers every metric the dashboard and the
alert rules read (the other tests check them against the metrics module; this one against the
process)."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.daemon.objects import deployment, node
from tests.deploy.monitoring import (
    alert_rules,
    dashboard_queries,
    metrics_used,
    series_of,
    variable_selectors,
)
from tests.fakekube import FakeKube
from tests.leader.daemons import REPO, daemon_argv
from tests.support.processes import free_port, running, wait_until

pytest_plugins = ["tests.fakekube.fixtures"]


def test_a_running_daemon_exports_every_metric_the_dashboard_and_alerts_read(
    fake_kube: FakeKube, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # the daemon's process imports tests.leader
    fake_kube.create(node("worker-1"))
    fake_kube.create(deployment("web"))
    fake_kube.patch_status("Deployment", "default", "web", {"replicas": 1, "availableReplicas": 1})
    service_port, daemon_port = free_port(), free_port()
    service = f"http://127.0.0.1:{service_port}"
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump({"sink": {"url": service}, "daemon": {"listen": f"127.0.0.1:{daemon_port}"}})
    )
    store = [sys.executable, "-m", "kg_exporter.service", "--store", ":memory:"]
    store += ["--listen", f"127.0.0.1:{service_port}"]
    daemon_url = f"http://127.0.0.1:{daemon_port}"
    with (
        running(store, ready_url=f"{service}/healthz", log=tmp_path / "service.log"),
        running(
            daemon_argv(fake_kube.kubeconfig_path, config),
            ready_url=f"{daemon_url}/readyz",
            log=tmp_path / "daemon.log",
        ),
    ):
        wait_until(
            lambda: 'outcome="created"' in httpx.get(f"{daemon_url}/metrics").text,
            timeout=10,
            what="a write",
        )
        page = httpx.get(f"{daemon_url}/metrics", timeout=5).text
    served = series_of(text_string_to_metric_families(page))
    used = set().union(
        *(metrics_used(q) for q in dashboard_queries() + variable_selectors()),
        *(metrics_used(r["expr"]) for r in alert_rules()),
    )
    assert used - {"up"} <= served, sorted(used - {"up"} - served)
