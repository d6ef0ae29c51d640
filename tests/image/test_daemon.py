"""`kg-exporter run` from the image, as deploy/base's Deployment runs it (its user, read-only root,
the ConfigMap and the Secret mounted as files, leader election on), against the test API server
on the host and the reference Metadata Service from the same image: a workload starts and stops,
/readyz and /metrics answer, and SIGTERM (what the kubelet sends) ends it with exit code 0."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.daemon.objects import deployment
from tests.deploy.manifests import BASE, render
from tests.e2e.stack import eventually
from tests.fakekube import FakeKube
from tests.image.conftest import kubeconfig_mount
from tests.image.engine import Engine
from tests.image.pods import container, pod_spec, run_args
from tests.support.processes import free_port

#: The first test to need the image may wait for its build (scripts/image.sh, 2-6 minutes).
pytestmark = [pytest.mark.image, pytest.mark.timeout(900)]

WRITTEN = re.compile(
    r'^kg_exporter_writes_total\{[^}]*outcome="(created|replaced)"[^}]*\} [1-9]', re.M
)
WEB = "cluster1:workload:deployment:default:web"
#: The pod's name and namespace, which the Deployment passes through the downward API.
POD = {"metadata.name": "kg-exporter-7d4b9c-x2x5q", "metadata.namespace": "kg-exporter"}


def test_the_daemon_runs_from_the_image_as_the_deployment_runs_it(
    engine: Engine,
    start_service: Any,
    config_dir: Path,
    token_dir: Path,
    token: str,
    tmp_path: Path,
) -> None:
    service = start_service(tmp_path / "store")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with FakeKube() as kube:
        options, arguments = run_args(
            pod_spec(render(BASE), "Deployment", "kg-exporter"),
            volumes={
                "config": config_dir,
                "templates": tmp_path / "no-templates",  # the optional ConfigMap is absent
                "sink-token": token_dir,
            },
            fields=POD,
            extra_env={
                # The addresses of this test instead of the cluster's, as an overlay would set.
                "KG_EXPORTER_SINK__URL": service.url,
                "KG_EXPORTER_DAEMON__LISTEN": f"127.0.0.1:{port}",
                "KUBECONFIG": "/var/run/kubeconfig/config",
            },
        )
        (tmp_path / "no-templates").mkdir()
        credentials = kubeconfig_mount(tmp_path / "kubeconfig", kube.kubeconfig_path)
        options += ["--volume", f"{credentials}:/var/run/kubeconfig:ro"]
        with container(engine, options, arguments) as daemon:
            daemon.wait_ready(url + "/readyz")
            assert kube.get("Lease", POD["metadata.namespace"], "kg-exporter") is not None

            kube.create(deployment("web"))
            kube.patch_status("Deployment", "default", "web", {"availableReplicas": 1})
            eventually(lambda: service.phase(WEB) == "running", within=30, what="web running")
            kube.scale("Deployment", "default", "web", 0)
            kube.patch_status("Deployment", "default", "web", {"availableReplicas": 0})
            eventually(lambda: service.phase(WEB) == "stopped", within=30, what="web stopped")

            metrics = httpx.get(url + "/metrics", timeout=10).text
            assert WRITTEN.search(metrics), metrics[:3000]
            assert "\nkg_exporter_leader 1.0" in metrics and "\nkg_exporter_ready 1.0" in metrics

            daemon.signal("TERM")
            assert daemon.wait() == 0, daemon.logs()
            assert token not in daemon.logs()
