"""End to end: FakeKube ⇄ ``kg-exporter run`` (subprocess) ⇄ the reference Metadata Service
(subprocess). What the service ends up holding is what a reader of the graph sees."""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.daemon.objects import JOB_STARTED, deployment, job, job_finished, statefulset
from tests.e2e.stack import Daemon, MetadataService, eventually
from tests.fakekube import FakeKube

WEB = "cluster1:workload:deployment:default:web"
WEB_TELEMETRY = "cluster1:workload-telemetry:deployment:default:web"


def test_deployment_starts_stops_and_starts_again(
    fake_kube: FakeKube, metadata_service: MetadataService, start_daemon: Callable[..., Daemon]
) -> None:
    ms = metadata_service
    start_daemon()
    fake_kube.create(deployment("web"))
    time.sleep(1.0)
    assert ms.ids("cluster1:workload") == [], "created with no available replica: no write"

    fake_kube.patch_status("Deployment", "default", "web", {"availableReplicas": 1})
    eventually(lambda: ms.phase(WEB) == "running", what="web running")
    assert WEB_TELEMETRY in ms.ids("cluster1:workload-telemetry:")
    first = ms.status(WEB)
    assert first is not None and first["glc:startTime"] and "glc:endTime" not in first

    fake_kube.scale("Deployment", "default", "web", 0)
    fake_kube.patch_status("Deployment", "default", "web", {"availableReplicas": 0})
    eventually(lambda: ms.phase(WEB) == "stopped", what="web stopped")
    stopped = ms.status(WEB)
    assert stopped is not None and stopped["glc:endTime"] >= stopped["glc:startTime"]
    assert stopped["glc:startTime"] == first["glc:startTime"]

    fake_kube.scale("Deployment", "default", "web", 1)
    fake_kube.patch_status("Deployment", "default", "web", {"availableReplicas": 1})
    eventually(lambda: ms.phase(WEB) == "running", what="web running again")
    again = ms.status(WEB)
    assert again is not None and "glc:endTime" not in again
    assert again["glc:startTime"] >= stopped["glc:endTime"]


def test_jobs_record_their_outcome_and_a_deleted_statefulset_stops(
    fake_kube: FakeKube, metadata_service: MetadataService, start_daemon: Callable[..., Daemon]
) -> None:
    ms = metadata_service
    start_daemon()
    for name in ("ok", "bad"):
        fake_kube.create(job(name))
        fake_kube.patch_status("Job", "default", name, JOB_STARTED)
    fake_kube.create(statefulset("db"))
    fake_kube.patch_status("StatefulSet", "default", "db", {"replicas": 1, "readyReplicas": 1})
    db = "cluster1:workload:statefulset:default:db"
    eventually(lambda: ms.phase(db) == "running")
    for name in ("ok", "bad"):
        eventually(lambda n=name: ms.phase(f"cluster1:workload:job:default:{n}") == "running")

    fake_kube.patch_status("Job", "default", "ok", job_finished("succeeded"))
    fake_kube.patch_status("Job", "default", "bad", job_finished("failed"))
    fake_kube.delete("StatefulSet", "default", "db")
    for name, outcome in (("ok", "succeeded"), ("bad", "failed")):
        subgraph = f"cluster1:workload:job:default:{name}"
        eventually(lambda s=subgraph: ms.phase(s) == "stopped", what=f"{name} stopped")
        status = ms.status(subgraph)
        assert status is not None and status["kgx:outcome"] == outcome
        assert status["glc:endTime"] and status["glc:startTime"]
    eventually(lambda: ms.phase(db) == "stopped", what="db stopped")
    status = ms.status(db)
    assert status is not None and status["glc:endTime"]


def test_status_updates_that_change_no_phase_write_nothing(
    fake_kube: FakeKube, metadata_service: MetadataService, start_daemon: Callable[..., Daemon]
) -> None:
    ms = metadata_service
    start_daemon()
    fake_kube.create(deployment("web", replicas=3))
    fake_kube.patch_status("Deployment", "default", "web", {"availableReplicas": 1})
    eventually(lambda: ms.phase(WEB) == "running")
    # Every write of the start landed: web's two subgraphs and the glaciation node's two.
    eventually(lambda: ms.writes() == 4, what="the start's four subgraph writes")
    written = ms.writes()
    for i in range(100):
        fake_kube.patch_status(
            "Deployment",
            "default",
            "web",
            {"availableReplicas": 1 + i % 3, "readyReplicas": 1 + i % 3, "observedGeneration": i},
        )
    # The daemon has seen the last update once a later change arrives (events are in order).
    fake_kube.create(deployment("marker"))
    fake_kube.patch_status("Deployment", "default", "marker", {"availableReplicas": 1})
    eventually(lambda: ms.phase("cluster1:workload:deployment:default:marker") == "running")
    eventually(lambda: ms.writes() >= written + 2, what="the marker's two subgraph writes")
    time.sleep(0.5)  # room for a spurious write to show up
    assert ms.writes() == written + 2, "only the marker's two subgraphs were written"
