"""Start and end times from children: a JobSet states no start time (v0.2 to v0.12), its Jobs do
(``children: [{kind: Job, times: true}]``); a MetricSet's are its JobSet's, a MiniCluster's its
Job's, an Ensemble's its members'. The daemon answers from its own records whatever order the
events come in, and the backfill (render_objects) says the same from the objects it read."""

from __future__ import annotations

import copy
from typing import Any

from kg_exporter.identity import ObjectKey
from kg_exporter.manifests import Manifest, read_manifests
from kg_exporter.render.batch import render_objects
from kg_exporter.render.renderer import Renderer, Subgraph
from kg_exporter.state.lifecycle import Phase
from kg_exporter.state.workloads import WorkloadTable
from tests.conftest import EXAMPLES
from tests.kinds.test_families import NOW, Obj, job, obj

JS = ("jobset.x-k8s.io/v1alpha2", "JobSet", "train")
KEY = ObjectKey("JobSet", "hpc", "train")
ACTIVE = {"replicatedJobsStatus": [{"name": "w", "active": 2}]}
DONE = {"conditions": [{"type": "Completed", "status": "True",
                        "lastTransitionTime": "2026-11-21T11:00:00Z"}]}  # fmt: skip


def jobset(status: Obj, name: str = "train", owner: tuple[str, str, str] | None = None) -> Obj:
    return obj("JobSet", name, owner=owner, spec={"replicatedJobs": []}, status=status)


def started(start: str) -> Obj:
    return {"startTime": start, "active": 1}


def test_a_jobset_seen_running_before_its_jobs_start_takes_their_start_once_known() -> None:
    table = WorkloadTable(lambda: NOW)
    change = table.apply(jobset(ACTIVE))
    assert change is not None and change.after is not None
    assert change.after.started_at == NOW  # nothing better known yet: the daemon's clock
    table.apply(job("train-w-1", JS, started("2026-11-21T10:00:09Z")))
    table.apply(job("train-w-0", JS, started("2026-11-21T10:00:07Z")))
    corrected = table.owner_changes()
    assert [c.after.started_at for c in corrected if c.after] == [
        "2026-11-21T10:00:09Z",
        "2026-11-21T10:00:07Z",
    ]
    # Known now: a later Job (a restart) or another event does not move it.
    table.apply(job("train-w-2", JS, started("2026-11-21T10:30:00Z")))
    table.apply(jobset(ACTIVE))
    assert table.owner_changes() == []
    # A Job deleted (the controller restarts them) still says when the JobSet started.
    table.delete(ObjectKey("Job", "hpc", "train-w-0"))
    table.apply(jobset(DONE))
    record = table.get(KEY)
    assert record is not None and record.graph is not None
    assert record.graph.phase is Phase.STOPPED
    assert record.graph.started_at == "2026-11-21T10:00:07Z"
    assert record.graph.ended_at == "2026-11-21T11:00:00Z"  # its own condition's time


def test_jobs_listed_first_give_the_start_at_once_and_pending_jobs_do_not_count() -> None:
    table = WorkloadTable(lambda: NOW)
    table.apply(job("train-w-0", JS, started("2026-11-21T10:00:07Z")), seen_live=False)
    table.apply(job("train-w-1", JS, {}), seen_live=False)  # not started: no say
    change = table.apply(jobset(ACTIVE), seen_live=False)
    assert change is not None and change.after is not None
    assert change.after.started_at == "2026-11-21T10:00:07Z"


def test_a_jobset_without_known_jobs_keeps_its_own_times() -> None:
    table = WorkloadTable(lambda: NOW)
    change = table.apply(jobset(DONE), seen_live=False)
    assert change is not None and change.after is not None
    # Its creation time: the best it says of itself.
    assert change.after.started_at == "2026-11-21T10:00:00Z"


def test_a_metricset_starts_when_the_first_job_of_its_jobset_did() -> None:
    table = WorkloadTable(lambda: NOW)
    ms = ("flux-framework.org/v1alpha2", "MetricSet", "ms")
    table.apply(obj("MetricSet", "ms", spec={}, status={}))
    table.apply(jobset(ACTIVE, "ms", owner=ms))
    [running] = table.owner_changes()
    assert running.after is not None and running.after.phase is Phase.RUNNING
    ms_js = ("jobset.x-k8s.io/v1alpha2", "JobSet", "ms")
    table.apply(job("ms-l-0", ms_js, started("2026-11-21T10:00:05Z")))
    [corrected] = table.owner_changes()
    assert corrected.key == ObjectKey("MetricSet", "hpc", "ms")
    assert corrected.after is not None and corrected.after.started_at == "2026-11-21T10:00:05Z"


def _workload_times(renderer: Renderer, objects: list[Obj]) -> dict[str, tuple[Any, Any]]:
    out = {}
    for s in render_objects([(o, "test") for o in objects], renderer):
        if isinstance(s, Subgraph) and s.kind.value == "workload":
            nodes = s.document["@graph"]
            status = next(n for n in nodes if n.get("@id", "").endswith("/status"))
            times = [status.get(t, {}).get("@value") for t in ("glc:startTime", "glc:endTime")]
            out[nodes[0]["kgx:name"]] = (times[0], times[1])
    return out


def _as_table(objects: list[Obj]) -> dict[str, tuple[Any, Any]]:
    table = WorkloadTable(lambda: NOW)
    for o in objects:
        table.apply(copy.deepcopy(o), seen_live=False)
    out = {}
    for key in table.exported():
        record = table.get(key)
        if record is not None and record.graph is not None:
            out[key.name] = (record.graph.started_at, record.graph.ended_at)
    return out


def test_the_backfill_and_the_daemon_give_the_examples_the_same_times(renderer: Renderer) -> None:
    objects = [
        m.obj
        for m in read_manifests([EXAMPLES / "kinds"])
        if isinstance(m, Manifest) and m.obj.get("kind") != "Pod"
    ]
    rendered = _workload_times(renderer, objects)
    assert rendered["pretrain"] == ("2026-11-21T08:00:03Z", None)  # JobSet: its first Job's
    assert rendered["lammps"] == ("2026-11-19T14:00:05Z", "2026-11-19T14:06:12Z")  # MetricSet
    assert rendered["flux-sample"][0] == "2026-11-21T10:00:07Z"  # MiniCluster: its Job's
    assert rendered["sweep"] == ("2026-11-21T11:00:09Z", None)  # Ensemble: first member's
    daemon = _as_table(objects)
    for name in ("pretrain", "lammps", "flux-sample", "sweep"):
        assert daemon[name] == rendered[name], name
    # Children first (a relist may deliver them in any order): the same.
    children_first = sorted(objects, key=lambda o: "ownerReferences" not in o["metadata"])
    assert {n: _as_table(children_first)[n] for n in daemon} == daemon


def test_a_resumed_jobset_does_not_take_the_start_of_the_run_before_its_suspension() -> None:
    clock = ["2026-11-21T11:00:00Z"]
    table = WorkloadTable(lambda: clock[0])
    table.apply(job("train-w-0", JS, started("2026-11-21T10:00:07Z")))
    table.apply(jobset(ACTIVE))
    # A restart deletes the Job; Kueue then suspends the JobSet (a stop without outcome).
    table.delete(ObjectKey("Job", "hpc", "train-w-0"))
    table.apply(job("train-w-0", JS, started("2026-11-21T10:40:00Z")))
    suspended = {"conditions": [{"type": "Suspended", "status": "True"}]}
    table.apply(jobset(suspended))
    record = table.get(KEY)
    assert record is not None and record.graph is not None
    assert record.graph.phase is Phase.STOPPED and record.graph.ended_at == clock[0]
    # Resumed at 12:00, before its Jobs restart: neither the deleted Job's start nor the one a
    # Job still states from before the suspension is this run's.
    clock[0] = "2026-11-21T12:00:00Z"
    table.apply(jobset(ACTIVE))
    table.apply(job("train-w-1", JS, started("2026-11-21T10:50:00Z")))
    record = table.get(KEY)
    assert record is not None and record.graph is not None
    assert (record.graph.phase, record.graph.started_at) == (Phase.RUNNING, clock[0])
    # Its Jobs resumed: their start is.
    table.apply(job("train-w-0", JS, started("2026-11-21T12:00:04Z")))
    table.apply(job("train-w-1", JS, started("2026-11-21T12:00:05Z")))
    record = table.get(KEY)
    assert record is not None and record.graph is not None
    assert record.graph.started_at == "2026-11-21T12:00:04Z"
