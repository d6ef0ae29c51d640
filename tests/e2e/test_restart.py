"""End to end: objects deleted and re-created under the same name while ``kg-exporter run`` is
down (``kubectl replace --force``, a Helm reinstall, a Job re-run with a fixed name), then the
daemon started again — after a clean SIGTERM and after a SIGKILL.

| while the daemon is down | the graph must say once it is up |
| --- | --- |
| A. a running Deployment (and a StatefulSet) re-created, not started | stopped, the old uid, ended when the daemon found out; the new one once it starts |
| B. a Job stored as succeeded re-created, run and failed | stopped/failed with the new run's uid, start and end |
| C. a running Deployment (and a StatefulSet) re-created and running | running, the new uid and its start; the old instance's stop written first |
| a Node that left and joined again | running, the new uid |
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.daemon.objects import deployment, job, job_finished, node, statefulset
from tests.e2e.stack import Daemon, MetadataService, eventually
from tests.fakekube import FakeKube

READY_FIELD = {"Deployment": "availableReplicas", "StatefulSet": "readyReplicas"}
MAKE = {"Deployment": deployment, "StatefulSet": statefulset}
RERUN = {
    "startTime": "2026-11-02T09:00:00Z",
    "active": 0,
    "failed": 1,
    "conditions": [
        {"type": "Failed", "status": "True", "lastTransitionTime": "2026-11-02T09:07:00Z"}
    ],
}


def sid(kind: str, name: str) -> str:
    return f"cluster1:workload:{kind.lower()}:default:{name}"


def uid_of(ms: MetadataService, subgraph_id: str) -> str | None:
    for item in (ms.document(subgraph_id) or {}).get("@graph", []):
        if "kgx:uid" in item:
            return str(item["kgx:uid"])
    return None


def create_replicated(fake: FakeKube, kind: str, name: str, *, started: bool) -> str:
    uid: str = fake.create(MAKE[kind](name))["metadata"]["uid"]
    if started:
        fake.patch_status(kind, "default", name, {"replicas": 1, READY_FIELD[kind]: 1})
    return uid


def recreate(fake: FakeKube, kind: str, name: str, *, started: bool) -> str:
    fake.delete(kind, "default", name)
    return create_replicated(fake, kind, name, started=started)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_objects_recreated_while_the_daemon_was_down(
    sig: signal.Signals,
    fake_kube: FakeKube,
    metadata_service: MetadataService,
    start_daemon: Callable[..., Daemon],
) -> None:
    ms, fake = metadata_service, fake_kube
    workloads = {
        ("Deployment", "a"): False,  # row A: re-created, not started
        ("Deployment", "c"): True,  # row C: re-created and running
        ("StatefulSet", "sa"): False,
        ("StatefulSet", "sc"): True,
    }
    for kind, name in workloads:
        create_replicated(fake, kind, name, started=True)
    fake.create(job("b"))
    fake.patch_status("Job", "default", "b", job_finished("succeeded"))
    fake.create(node("n1"))
    fake.create(node("n2"))
    first = start_daemon()
    eventually(
        lambda: (
            all(ms.phase(sid(k, n)) == "running" for k, n in workloads)
            and ms.phase(sid("Job", "b")) == "stopped"
            and ms.phase("cluster1:node:n1") == "running"
        ),
        what="everything written by the first daemon",
    )
    before: dict[str, dict[str, Any]] = {}
    for kind, name in [*workloads, ("Job", "b")]:
        status = ms.status(sid(kind, name))
        assert status is not None
        before[sid(kind, name)] = {"uid": uid_of(ms, sid(kind, name)), **status}
    old_node = uid_of(ms, "cluster1:node:n1")
    assert first.stop(sig) == (0 if sig == signal.SIGTERM else -signal.SIGKILL)

    # While it is down: every one deleted and created again under the same name.
    new_uid = {sid(k, n): recreate(fake, k, n, started=s) for (k, n), s in workloads.items()}
    fake.delete("Job", "default", "b")
    new_uid[sid("Job", "b")] = fake.create(job("b"))["metadata"]["uid"]
    fake.patch_status("Job", "default", "b", RERUN)
    fake.delete("Node", None, "n1")
    new_node = fake.create(node("n1"))["metadata"]["uid"]
    found_out = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 1))

    second = start_daemon()
    for kind, name in workloads:
        i = sid(kind, name)
        if workloads[(kind, name)]:  # C: the new instance, its own uid and start
            eventually(lambda i=i: uid_of(ms, i) == new_uid[i], what=f"{i} new uid")
            status = ms.status(i)
            assert status is not None and status["kgx:phase"] == "running"
            assert status["glc:startTime"] != before[i]["glc:startTime"]
            assert "glc:endTime" not in status
        else:  # A: the old instance ended, nothing for the new one yet
            eventually(lambda i=i: ms.phase(i) == "stopped", what=f"{i} stopped")
            status = ms.status(i)
            assert status is not None and uid_of(ms, i) == before[i]["uid"]
            assert status["glc:startTime"] == before[i]["glc:startTime"]
            assert status["glc:endTime"] >= found_out, "ended when the daemon found out"
    # B: the new run, failed, with its own uid and times.
    job_id = sid("Job", "b")
    eventually(lambda: uid_of(ms, job_id) == new_uid[job_id], what="b's new run")
    status = ms.status(job_id)
    assert status is not None
    assert (status["kgx:phase"], status["kgx:outcome"]) == ("stopped", "failed")
    assert status["glc:startTime"].startswith("2026-11-02T09:00:00")
    assert status["glc:endTime"].startswith("2026-11-02T09:07:00")
    # The node that left and joined again is described as the node that exists now.
    eventually(lambda: uid_of(ms, "cluster1:node:n1") == new_node, what="n1 new uid")
    assert new_node != old_node and ms.phase("cluster1:node:n1") == "running"
    assert ms.members("cluster1:glaciation-node:glaciation-node1") == ["n1", "n2"]
    log = second.log_text()
    for kind, name in [("Deployment", "c"), ("StatefulSet", "sc")]:
        # C: the ended instance's stop went to the graph before the new instance replaced it.
        i = sid(kind, name)
        assert (
            f"{kind}/default/{name}: the graph held another instance (uid {before[i]['uid']})"
            in log
        )

    # A, then: the new instances follow the ordinary rules once they start.
    for kind, name in [("Deployment", "a"), ("StatefulSet", "sa")]:
        fake.patch_status(kind, "default", name, {"replicas": 1, READY_FIELD[kind]: 1})
        i = sid(kind, name)
        eventually(lambda i=i: uid_of(ms, i) == new_uid[i], what=f"{i} started")
        assert ms.phase(i) == "running"
    assert "Traceback" not in log
