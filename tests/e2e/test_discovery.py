"""End to end, one ``kg-exporter run`` for the module: kinds resolved through API discovery.

The daemon starts with Jobs refused (403) and a kind of the user's own (a RayJob, configured in
the settings file alone) whose CRD is not installed. It is ready anyway; the missing kind is one
log line, the 403 one error naming the missing rule; the other kinds are exported; Jobs are
exported once allowed, RayJobs once their CRD is installed — no restart.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.daemon.conftest import BOOKMARK_INTERVAL
from tests.daemon.objects import JOB_STARTED, deployment, job
from tests.e2e.conftest import FAKE_TOKEN
from tests.e2e.stack import Daemon, MetadataService, eventually
from tests.fakekube import FakeKube
from tests.fakekube.crds import definition

INTERVAL = 0.5  # daemon.discovery_interval_seconds
RAY = "ray.io"
#: A kind nobody bundles, written as a user would (KubeRay's RayJob: status.jobStatus is PENDING,
#: RUNNING, STOPPED, SUCCEEDED or FAILED; start and end times on the status).
RAYJOB = {
    "kind": "RayJob",
    "group": RAY,
    "versions": ["v1"],
    "plural": "rayjobs",
    "class": "kgx:RayJob",
    "lifecycle": {
        "stopped": 'has(object.status.jobStatus) && object.status.jobStatus in ["SUCCEEDED", "FAILED"]',
        "outcome": 'object.status.jobStatus == "SUCCEEDED" ? "succeeded" : "failed"',
        "running": 'has(object.status.jobStatus) && object.status.jobStatus == "RUNNING"',
        "started_at": "has(object.status.startTime) ? object.status.startTime : null",
        "ended_at": "has(object.status.endTime) ? object.status.endTime : null",
    },
    "pods": {
        "templates": "object.spec.rayClusterSpec.headGroupSpec.template",
        "name_suffix": "-raycluster-[a-z0-9]{5}-head-[a-z0-9]{5}",
    },
}


def rayjob(name: str) -> dict[str, Any]:
    template = {"spec": {"containers": [{"name": "ray-head", "image": "rayproject/ray:2.9.0"}]}}
    return {
        "apiVersion": f"{RAY}/v1",
        "kind": "RayJob",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "entrypoint": "python /home/ray/samples/sample_code.py",
            "rayClusterSpec": {"headGroupSpec": {"template": template}},
        },
    }


def rayjob_id(name: str) -> str:
    return f"cluster1:workload:rayjob:default:{name}"


@dataclass
class Stack:
    fake: FakeKube
    ms: MetadataService
    daemon: Daemon

    def lines(self, pattern: str) -> list[str]:
        return [line for line in self.daemon.log_text().splitlines() if re.search(pattern, line)]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    work: Path = tmp_path_factory.mktemp("discovery")
    with FakeKube(bookmark_interval=BOOKMARK_INTERVAL) as fake:
        fake.forbid("jobs")
        fake.create(deployment("web"))
        fake.patch_status("Deployment", "default", "web", {"availableReplicas": 1})
        ms = MetadataService(work / "store", work / "metadata-service.log")
        ms.start()
        try:
            daemon = Daemon(
                fake.kubeconfig_path,
                ms.url,
                work,
                settings={"kinds": [RAYJOB]},
                discovery_interval_seconds=INTERVAL,
            )
            daemon.start()  # returns once /readyz answers 200
            try:
                yield Stack(fake, ms, daemon)
            finally:
                assert daemon.stop() == 0
                assert FAKE_TOKEN not in daemon.log_text()
        finally:
            ms.stop()


def test_a_forbidden_kind_is_one_error_the_others_work_and_it_is_picked_up_once_allowed(
    stack: Stack,
) -> None:
    fake, ms, daemon = stack.fake, stack.ms, stack.daemon
    assert daemon.readyz() == 200
    eventually(lambda: ms.phase("cluster1:workload:deployment:default:web") == "running")
    assert daemon.metric("kg_exporter_kind_forbidden", kind="Job") == 1
    assert daemon.metric("kg_exporter_kind_forbidden", kind="Deployment") == 0
    fake.create(job("batch"))
    fake.patch_status("Job", "default", "batch", JOB_STARTED)
    tries = fake.request_count("list", "/apis/batch/v1/jobs")
    eventually(lambda: fake.request_count("list", "/apis/batch/v1/jobs") >= tries + 2)
    errors = stack.lines(r"cannot read jobs")
    assert len(errors) == 1, errors
    assert "ERROR" in errors[0]
    assert (
        'apiGroups: ["batch"], resources: ["jobs"], verbs: ["get", "list", "watch"]' in (errors[0])
    )
    assert ms.phase("cluster1:workload:job:default:batch") is None

    fake.allow("jobs")
    eventually(lambda: ms.phase("cluster1:workload:job:default:batch") == "running")
    assert daemon.metric("kg_exporter_kind_forbidden", kind="Job") == 0
    assert len(stack.lines(r"jobs can be read now")) == 1
    assert len(stack.lines(r"cannot read jobs")) == 1


def test_a_kind_absent_from_the_cluster_is_one_line_and_the_daemon_is_ready(stack: Stack) -> None:
    # The fixture's start returned once /readyz said 200: ready while RayJob was not served (nor
    # the bundled kinds whose CRDs this cluster lacks: JobSet, MetricSet...).
    absent = stack.lines(r"RayJob .*is not served by the API server")
    assert len(absent) == 1, absent
    assert (
        "RayJob (rayjobs.ray.io, versions v1) is not served by the API server (its CRD is not "
        "installed?): not watched; checking again every 0.5 s"
    ) in absent[0]
    checks = stack.fake.requests[("get", "/apis")]
    eventually(lambda: stack.fake.requests[("get", "/apis")] >= checks + 2, what="re-checked")
    assert len(stack.lines(r"RayJob .*is not served by the API server")) == 1
    assert stack.daemon.readyz() == 200


def test_a_crd_installed_after_start_up_and_a_settings_kind_are_exported(stack: Stack) -> None:
    fake, ms, daemon = stack.fake, stack.ms, stack.daemon
    fake.create(definition(RAY, "RayJob", versions=("v1",)))
    for name in ("train", "tune"):
        fake.create(rayjob(name))
    eventually(lambda: daemon.metric("kg_exporter_kind_served", kind="RayJob") == 1)
    time.sleep(1.0)
    assert ms.ids("cluster1:workload:rayjob") == [], "pending (no jobStatus): nothing written"

    for name in ("train", "tune"):
        fake.patch_status(
            "RayJob", "default", name, {"jobStatus": "RUNNING", "startTime": "2026-11-02T10:00:00Z"}
        )
    eventually(lambda: all(ms.phase(rayjob_id(n)) == "running" for n in ("train", "tune")))
    document = ms.document(rayjob_id("train")) or {}
    workload = next(n for n in document["@graph"] if "kgx:RayJob" in n.get("@type", []))
    assert "k8s:Workload" in workload["@type"]
    assert ms.status(rayjob_id("train"))["glc:startTime"] == "2026-11-02T10:00:00Z"

    for name, final in (("train", "SUCCEEDED"), ("tune", "FAILED")):
        fake.patch_status(
            "RayJob", "default", name, {"jobStatus": final, "endTime": "2026-11-02T10:30:00Z"}
        )
    for name, outcome in (("train", "succeeded"), ("tune", "failed")):
        eventually(lambda n=name: ms.phase(rayjob_id(n)) == "stopped", what=f"{name} stopped")
        assert (ms.status(rayjob_id(name)) or {}).get("kgx:outcome") == outcome
    assert len(stack.lines(r"RayJob is served now \(ray.io/v1\): watching it")) == 1
