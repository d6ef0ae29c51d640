"""End to end, one ``kg-exporter run`` for the module: workload kinds as configuration, resolved
through API discovery.

The cluster serves the operators' CRDs (JobSet, MetricSet, MiniCluster, Ensemble) and refuses
StatefulSets (403); the settings file adds a kind of the user's own (a RayJob) whose CRD is not
installed. The daemon is ready anyway: the missing kind is one log line, the 403 one error naming
the missing rule. Each bundled kind goes pending -> running -> stopped (succeeded, failed) through
what its controller and its children write, as one workload per launched thing (children folded
in); StatefulSets are exported once allowed and RayJobs once their CRD is installed, without a
restart. Each test has a namespace of its own; objects are created the way their controllers
create them (:mod:`tests.e2e.operators`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kg_exporter.kinds import bundled_registry
from tests.daemon.conftest import BOOKMARK_INTERVAL
from tests.daemon.objects import deployment, statefulset
from tests.e2e import operators as op
from tests.e2e.conftest import FAKE_TOKEN
from tests.e2e.stack import Daemon, MetadataService, eventually
from tests.fakekube import FakeKube
from tests.fakekube.crds import OPERATOR_CRDS, definition

INTERVAL = 0.5  # daemon.discovery_interval_seconds
T0 = "2026-11-21T08:00:00Z"
T1 = "2026-11-21T09:00:00Z"
T2 = "2026-11-21T10:00:00Z"
BUNDLED = ("Deployment", "StatefulSet", "Job", "DaemonSet", "CronJob", "JobSet", "MetricSet",
           "MiniCluster", "Ensemble")  # fmt: skip
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


@dataclass
class Stack:
    fake: FakeKube
    ms: MetadataService
    daemon: Daemon

    def lines(self, pattern: str) -> list[str]:
        return [line for line in self.daemon.log_text().splitlines() if re.search(pattern, line)]

    def phase(self, kind: str, ns: str, name: str) -> str | None:
        return self.ms.phase(sid(kind, ns, name))

    def start(self, kind: str, ns: str, name: str) -> object:
        return (self.ms.status(sid(kind, ns, name)) or {}).get("glc:startTime")

    def outcome(self, kind: str, ns: str, name: str) -> object:
        return (self.ms.status(sid(kind, ns, name)) or {}).get("kgx:outcome")

    def workloads(self, ns: str) -> list[str]:
        """The workloads stored in namespace ``ns``, as kind:name."""
        found = []
        for subgraph_id in self.ms.ids("cluster1:workload:"):
            _, _, kind, namespace, name = subgraph_id.split(":", 4)
            if namespace == ns:
                found.append(f"{kind}:{name}")
        return sorted(found)

    def reaches(self, kind: str, ns: str, name: str, phase: str) -> None:
        eventually(lambda: self.phase(kind, ns, name) == phase, what=f"{kind} {name} {phase}")

    def stop_with(self, kind: str, ns: str, outcomes: dict[str, str]) -> None:
        """Each named workload reaches stopped, with its outcome."""
        for name, outcome in outcomes.items():
            self.reaches(kind, ns, name, "stopped")
            assert self.outcome(kind, ns, name) == outcome, name

    def seen(self, kind: str) -> float:
        """How many objects of ``kind`` the daemon has received (listed, added, modified)."""
        return sum(
            self.daemon.metric("kg_exporter_watch_events_total", kind=kind, type=t) or 0.0
            for t in ("LISTED", "ADDED", "MODIFIED")
        )

    def settle(self, kind: str, count: int, since: float) -> None:
        """Until the daemon has received ``count`` more objects of ``kind`` than ``since``, and
        a moment more: a write they called for would have started."""
        eventually(lambda: self.seen(kind) >= since + count, what=f"{count} {kind} seen")
        time.sleep(0.3)


def sid(kind: str, ns: str, name: str) -> str:
    return f"cluster1:workload:{kind.lower()}:{ns}:{name}"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    work: Path = tmp_path_factory.mktemp("kinds")
    with FakeKube(bookmark_interval=BOOKMARK_INTERVAL) as fake:
        for crd in OPERATOR_CRDS.values():
            fake.create(definition(**crd))
        fake.forbid("statefulsets")
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
                log = daemon.log_text()
                assert daemon.stop() == 0
                assert FAKE_TOKEN not in log
                assert not re.search(r"Traceback|died", log), log[-5000:]
        finally:
            ms.stop()


# -- discovery -------------------------------------------------------------------------------


def test_every_bundled_kind_is_watched(stack: Stack) -> None:
    assert set(BUNDLED) == set(bundled_registry())
    for kind in BUNDLED:
        assert stack.daemon.metric("kg_exporter_kind_served", kind=kind) == 1, kind


def test_a_forbidden_kind_is_one_error_the_others_work_and_it_is_picked_up_once_allowed(
    stack: Stack,
) -> None:
    fake, ms, daemon = stack.fake, stack.ms, stack.daemon
    assert daemon.readyz(timeout=30) == 200
    stack.reaches("Deployment", "default", "web", "running")
    assert daemon.metric("kg_exporter_kind_forbidden", kind="StatefulSet") == 1
    assert daemon.metric("kg_exporter_kind_forbidden", kind="Deployment") == 0
    fake.create(statefulset("db"))
    fake.patch_status("StatefulSet", "default", "db", {"replicas": 1, "readyReplicas": 1})
    tries = fake.request_count("list", "/apis/apps/v1/statefulsets")
    eventually(lambda: fake.request_count("list", "/apis/apps/v1/statefulsets") >= tries + 2)
    errors = stack.lines(r"cannot read statefulsets")
    assert len(errors) == 1, errors
    assert "ERROR" in errors[0]
    rule = 'apiGroups: ["apps"], resources: ["statefulsets"], verbs: ["get", "list", "watch"]'
    assert rule in errors[0]
    assert stack.phase("StatefulSet", "default", "db") is None

    fake.allow("statefulsets")
    stack.reaches("StatefulSet", "default", "db", "running")
    assert daemon.metric("kg_exporter_kind_forbidden", kind="StatefulSet") == 0
    assert len(stack.lines(r"statefulsets can be read now")) == 1
    assert len(stack.lines(r"cannot read statefulsets")) == 1
    assert ms.phase(sid("Deployment", "default", "web")) == "running"


def test_a_kind_absent_from_the_cluster_is_one_line_and_the_daemon_is_ready(stack: Stack) -> None:
    # The fixture's start returned once /readyz said 200: ready while RayJob was not served.
    absent = stack.lines(r"is not served by the API server")
    assert len(absent) == 1, absent
    assert (
        "RayJob (rayjobs.ray.io, versions v1) is not served by the API server (its CRD is not "
        "installed?): not watched; checking again every 0.5 s"
    ) in absent[0]
    checks = stack.fake.requests[("get", "/apis")]
    eventually(lambda: stack.fake.requests[("get", "/apis")] >= checks + 2, what="re-checked")
    assert len(stack.lines(r"is not served by the API server")) == 1
    assert stack.daemon.readyz(timeout=30) == 200


def test_a_crd_installed_after_start_up_and_a_settings_kind_are_exported(stack: Stack) -> None:
    fake, ms, daemon = stack.fake, stack.ms, stack.daemon
    fake.create(definition(RAY, "RayJob", versions=("v1",)))
    eventually(lambda: daemon.metric("kg_exporter_kind_served", kind="RayJob") == 1)
    before = stack.seen("RayJob")
    for name in ("train", "tune"):
        fake.create(rayjob(name))
    stack.settle("RayJob", 2, before)
    pending = [w for w in stack.workloads("default") if w.startswith("rayjob:")]
    assert pending == [], "pending (no jobStatus): nothing written"

    for name in ("train", "tune"):
        fake.patch_status("RayJob", "default", name, {"jobStatus": "RUNNING", "startTime": T0})
    for name in ("train", "tune"):
        stack.reaches("RayJob", "default", name, "running")
    document = ms.document(sid("RayJob", "default", "train")) or {}
    workload = next(n for n in document["@graph"] if "kgx:RayJob" in n.get("@type", []))
    assert "k8s:Workload" in workload["@type"]
    assert (ms.status(sid("RayJob", "default", "train")) or {})["glc:startTime"] == T0

    for name, final in (("train", "SUCCEEDED"), ("tune", "FAILED")):
        fake.patch_status("RayJob", "default", name, {"jobStatus": final, "endTime": T1})
    stack.stop_with("RayJob", "default", {"train": "succeeded", "tune": "failed"})
    assert len(stack.lines(r"RayJob is served now \(ray.io/v1\): watching it")) == 1


# -- the bundled kinds -----------------------------------------------------------------------


def test_jobsets_run_and_stop_with_their_outcome_their_jobs_folded_in(stack: Stack) -> None:
    fake, ns, shape = stack.fake, "js", {"driver": 1, "workers": 2}
    before = stack.seen("JobSet")
    for name in ("a", "a-b"):
        op.create_tree(fake, op.jobset_tree(name, ns, shape))
    stack.settle("JobSet", 2, before)
    assert stack.workloads(ns) == [], "pending: no child active yet"

    fake.patch_status("JobSet", ns, "a", op.jobset_status(shape, active=True))
    # A JobSet v0.2.x controller spells the key ReplicatedJobsStatus.
    fake.patch_status("JobSet", ns, "a-b", op.jobset_status(shape, active=True, v02=True))
    for name in ("a", "a-b"):
        stack.reaches("JobSet", ns, name, "running")
    for name in ("a-driver-0", "a-workers-1"):
        fake.patch_status("Job", ns, name, op.job_running(T0))
    # No JobSet status says when it started; its Jobs do, from the daemon's cache (its clock until
    # then). The stop keeps that start.
    eventually(
        lambda: stack.start("JobSet", ns, "a") == T0, what="the JobSet's start from its Jobs"
    )

    fake.patch_status("JobSet", ns, "a", op.jobset_finished(shape, "succeeded", T1))
    fake.patch_status("JobSet", ns, "a-b", op.jobset_finished(shape, "failed", T1))
    stack.stop_with("JobSet", ns, {"a": "succeeded", "a-b": "failed"})
    assert stack.start("JobSet", ns, "a") == T0
    assert stack.workloads(ns) == ["jobset:a", "jobset:a-b"], "the child Jobs are folded in"


def test_a_suspended_jobset_stops_without_outcome_and_runs_again_on_resume(stack: Stack) -> None:
    fake, ns, shape = stack.fake, "kueue", {"workers": 2}
    op.create_tree(fake, op.jobset_tree("preempted", ns, shape))
    fake.patch_status("JobSet", ns, "preempted", op.jobset_status(shape, active=True))
    stack.reaches("JobSet", ns, "preempted", "running")

    fake.patch_status("JobSet", ns, "preempted", op.jobset_suspended(shape, True, T1))
    stack.reaches("JobSet", ns, "preempted", "stopped")
    assert stack.outcome("JobSet", ns, "preempted") is None

    fake.patch_status("JobSet", ns, "preempted", op.jobset_suspended(shape, False, T2))
    stack.reaches("JobSet", ns, "preempted", "running")
    assert "glc:endTime" not in (stack.ms.status(sid("JobSet", ns, "preempted")) or {})


def test_metricsets_follow_the_jobset_they_own(stack: Stack) -> None:
    fake, ns, shape = stack.fake, "metrics", {"l": 1, "w": 1}
    before = stack.seen("JobSet")
    for name in ("lammps", "lammps-b"):
        op.create_tree(fake, op.metricset_tree(name, ns))
    stack.settle("JobSet", 2, before)
    assert stack.workloads(ns) == []

    for name in ("lammps", "lammps-b"):
        fake.patch_status("JobSet", ns, name, op.jobset_status(shape, active=True, v02=True))
    for name in ("lammps", "lammps-b"):
        stack.reaches("MetricSet", ns, name, "running")

    fake.patch_status("JobSet", ns, "lammps", op.jobset_finished(shape, "succeeded", T1))
    fake.patch_status("JobSet", ns, "lammps-b", op.jobset_finished(shape, "failed", T1))
    stack.stop_with("MetricSet", ns, {"lammps": "succeeded", "lammps-b": "failed"})
    assert stack.workloads(ns) == ["metricset:lammps", "metricset:lammps-b"]


def test_miniclusters_follow_their_job_not_their_own_conditions(stack: Stack) -> None:
    fake, ns = stack.fake, "flux"
    jobs = stack.seen("Job")
    for name in ("mc", "mc-b"):
        op.create_tree(fake, op.minicluster_tree(name, ns))
    # The daemon knows the Jobs (watched apart from MiniClusters, so this is not a given; until
    # it does, JobMiniClusterReady is all it has to go by).
    stack.settle("Job", 2, jobs)
    before = stack.seen("MiniCluster")
    for name in ("mc", "mc-b"):
        # JobMiniClusterReady once the Job exists: not a sign its pods run.
        fake.patch_status("MiniCluster", ns, name, op.minicluster_created_status(name, T0))
    stack.settle("MiniCluster", 2, before)
    assert stack.workloads(ns) == [], "the Job has not started: pending"

    for name in ("mc", "mc-b"):
        fake.patch_status("Job", ns, name, op.job_running(T0))
    for name in ("mc", "mc-b"):
        stack.reaches("MiniCluster", ns, name, "running")

    fake.patch_status("Job", ns, "mc", op.job_finished("succeeded", T0, T1))
    fake.patch_status("Job", ns, "mc-b", op.job_finished("failed", T0, T1))
    stack.stop_with("MiniCluster", ns, {"mc": "succeeded", "mc-b": "failed"})
    assert stack.workloads(ns) == ["minicluster:mc", "minicluster:mc-b"]


def test_ensembles_run_while_a_member_runs_and_fail_if_one_failed(stack: Stack) -> None:
    fake, ns = stack.fake, "ensembles"
    before = stack.seen("Deployment")
    for name in ("ens", "ens-b"):
        op.create_tree(fake, op.ensemble_tree(name, ns, members=2))
        # The gRPC Deployment is up from the start; it does not make the Ensemble run.
        fake.patch_status("Deployment", ns, name, {"replicas": 1, "availableReplicas": 1})
    stack.settle("Deployment", 4, before)
    assert stack.workloads(ns) == [], "no member runs yet"

    for name in ("ens", "ens-b"):
        fake.patch_status("Job", ns, f"{name}-0", op.job_running(T0))
    for name in ("ens", "ens-b"):
        stack.reaches("Ensemble", ns, name, "running")
    # Containers: each member's as its MiniCluster's entry reads them (declared in spec.members,
    # the same once the operator has created it), and the gRPC Deployment's.
    document = stack.ms.document(sid("Ensemble", ns, "ens")) or {}
    node = next(n for n in document["@graph"] if "kgx:EnsembleWorkload" in n.get("@type", []))
    ids = [c["@id"].rsplit("/container/", 1)[1] for c in node["kgx:hasContainer"]]
    assert sorted(ids) == ["api", "ens-0/ens-0", "ens-1/ens-1"]
    before = stack.seen("Job")
    for name in ("ens", "ens-b"):
        fake.patch_status("Job", ns, f"{name}-1", op.job_running(T0))
        fake.patch_status("Job", ns, f"{name}-0", op.job_finished("succeeded", T0, T1))
    stack.settle("Job", 4, before)
    assert stack.phase("Ensemble", ns, "ens") == "running", "member 1 still runs"

    fake.patch_status("Job", ns, "ens-1", op.job_finished("succeeded", T0, T2))
    fake.patch_status("Job", ns, "ens-b-1", op.job_finished("failed", T0, T2))
    stack.stop_with("Ensemble", ns, {"ens": "succeeded", "ens-b": "failed"})
    assert stack.workloads(ns) == ["ensemble:ens", "ensemble:ens-b"], (
        "members, their Jobs and the gRPC Deployment are folded in"
    )


def daemonset_status(nodes: int) -> dict[str, int]:
    """The DaemonSet controller's status when ``nodes`` nodes run a ready pod of it."""
    return {
        "desiredNumberScheduled": nodes,
        "currentNumberScheduled": nodes,
        "numberMisscheduled": 0,
        "numberReady": nodes,
        "numberAvailable": nodes,
        "updatedNumberScheduled": nodes,
    }


def test_daemonsets_run_while_available_and_stop_when_scheduled_nowhere(stack: Stack) -> None:
    fake, ns = stack.fake, "agents"
    template = {"spec": {"containers": [{"name": "e", "image": "node-exporter:1.8"}]}}
    before = stack.seen("DaemonSet")
    fake.create(
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": "exporter", "namespace": ns},
            "spec": {"selector": {"matchLabels": {"app": "exporter"}}, "template": template},
        }
    )
    stack.settle("DaemonSet", 1, before)
    assert stack.workloads(ns) == []
    fake.patch_status("DaemonSet", ns, "exporter", daemonset_status(3))
    stack.reaches("DaemonSet", ns, "exporter", "running")
    fake.patch_status("DaemonSet", ns, "exporter", daemonset_status(0))  # no node matches now
    stack.reaches("DaemonSet", ns, "exporter", "stopped")
    assert stack.outcome("DaemonSet", ns, "exporter") is None


def test_a_cronjob_is_a_schedule_and_its_jobs_are_runs_of_their_own(stack: Stack) -> None:
    fake, ns = stack.fake, "cron"
    template = {"spec": {"restartPolicy": "Never", "containers": [{"name": "r", "image": "r:1"}]}}
    cronjob: dict[str, Any] = fake.create(
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": "report", "namespace": ns},
            "spec": {"schedule": "0 * * * *", "jobTemplate": {"spec": {"template": template}}},
        }
    )
    stack.reaches("CronJob", ns, "report", "running")  # a schedule not suspended runs
    # A run, as the CronJob controller makes it: owned by the uid the server gave the CronJob.
    run = op.job("report-29390400", ns, cronjob)
    run["spec"]["completionMode"] = "NonIndexed"
    fake.create(run)
    fake.patch_status("Job", ns, "report-29390400", op.job_running(T0))
    stack.reaches("Job", ns, "report-29390400", "running")
    fake.patch_status("Job", ns, "report-29390400", op.job_finished("failed", T0, T1))
    stack.reaches("Job", ns, "report-29390400", "stopped")
    assert stack.outcome("Job", ns, "report-29390400") == "failed"
    run_node, schedule = (
        next(n for n in (stack.ms.document(sid(kind, ns, name)) or {})["@graph"] if "kgx:uid" in n)
        for kind, name in (("Job", "report-29390400"), ("CronJob", "report"))
    )
    assert run_node["kgx:partOf"] == {"@id": schedule["@id"]}, "a run is part of its CronJob"

    fake.patch("CronJob", ns, "report", {"spec": {"suspend": True}})
    stack.reaches("CronJob", ns, "report", "stopped")
    assert stack.outcome("CronJob", ns, "report") is None
