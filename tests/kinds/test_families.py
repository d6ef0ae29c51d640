"""Owners, not children: the daemon's state for every bundled kind whose lifecycle is its children's,
fed the events the operators' controllers cause, in order."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kg_exporter.identity import ObjectKey
from kg_exporter.state.lifecycle import Outcome, Phase
from kg_exporter.state.workloads import Change, WorkloadTable

NOW = "2026-11-21T12:00:00.000Z"
Obj = dict[str, Any]


def obj(kind: str, name: str, *, owner: tuple[str, str, str] | None = None, **fields: Any) -> Obj:
    meta: Obj = {"name": name, "namespace": "hpc", "uid": f"uid-{kind}-{name}",
                 "creationTimestamp": "2026-11-21T10:00:00Z"}  # fmt: skip
    if owner is not None:
        api, owner_kind, owner_name = owner
        meta["ownerReferences"] = [
            {"apiVersion": api, "kind": owner_kind, "name": owner_name, "controller": True,
             "uid": f"uid-{owner_kind}-{owner_name}"}
        ]  # fmt: skip
    return {"kind": kind, "metadata": meta, **fields}


def job(name: str, owner: tuple[str, str, str], status: Obj | None = None) -> Obj:
    return obj("Job", name, owner=owner, spec={"template": {"spec": {}}}, status=status or {})


ACTIVE = {"startTime": "2026-11-21T10:00:05Z", "active": 2}
COMPLETE = {"startTime": "2026-11-21T10:00:05Z", "completionTime": "2026-11-21T10:30:00Z",
            "conditions": [{"type": "Complete", "status": "True"}]}  # fmt: skip
FAILED = {"startTime": "2026-11-21T10:00:05Z",
          "conditions": [{"type": "Failed", "status": "True", "lastTransitionTime": "2026-11-21T10:20:00Z"}]}  # fmt: skip
MC = ("flux-framework.org/v1alpha2", "MiniCluster", "mc")


@pytest.fixture
def table() -> WorkloadTable:
    return WorkloadTable(lambda: NOW)


def phase(table: WorkloadTable, kind: str, name: str) -> tuple[Phase | None, Outcome | None]:
    record = table.get(ObjectKey(kind, "hpc", name))
    assert record is not None
    graph = record.graph
    return (graph.phase, graph.outcome) if graph is not None else (None, None)


def test_a_minicluster_runs_and_stops_with_its_job_which_is_never_exported(
    table: WorkloadTable,
) -> None:
    ready = {"conditions": [{"type": "JobMiniClusterReady", "status": "True"}]}
    assert table.apply(obj("MiniCluster", "mc", spec={"containers": []}, status=ready)) is not None
    # Ready with no Job seen: the best the object says. Once the Job is there, it decides.
    assert phase(table, "MiniCluster", "mc") == (Phase.RUNNING, None)
    assert table.apply(job("mc", MC)) is None  # folded: no change of its own
    assert table.owner_changes() == []  # a pending Job does not stop a running MiniCluster
    table.apply(job("mc", MC, ACTIVE))
    # The start was a guess (the creation time): the Job states the real one.
    [corrected] = table.owner_changes()
    assert corrected.after is not None and corrected.after.phase is Phase.RUNNING
    assert corrected.after.started_at == "2026-11-21T10:00:05Z"
    table.apply(job("mc", MC, COMPLETE))
    [change] = table.owner_changes()
    assert change.key == ObjectKey("MiniCluster", "hpc", "mc")
    assert change.after is not None and change.after.started_at == "2026-11-21T10:00:05Z"
    assert change.after is not None and change.after.phase is Phase.STOPPED
    assert change.after.outcome is Outcome.SUCCEEDED
    assert change.after.ended_at == "2026-11-21T10:30:00Z"
    assert list(table.exported()) == [ObjectKey("MiniCluster", "hpc", "mc")]
    # The Job is garbage-collected: the MiniCluster stays stopped (no fall back to Ready).
    table.delete(ObjectKey("Job", "hpc", "mc"))
    assert phase(table, "MiniCluster", "mc") == (Phase.STOPPED, Outcome.SUCCEEDED)


def test_an_ensemble_runs_while_any_member_runs_and_fails_if_any_failed(
    table: WorkloadTable,
) -> None:
    ens = ("ensemble.flux-framework.org/v1alpha1", "Ensemble", "ens")
    # Children first, as a relist may deliver them: the owner finds them when it arrives.
    for i in (0, 1):
        table.apply(obj("MiniCluster", f"ens-{i}", owner=ens, spec={"containers": []}))
        table.apply(job(f"ens-{i}", ("flux-framework.org/v1alpha2", "MiniCluster", f"ens-{i}"), ACTIVE))
    table.apply(obj("Deployment", "ens", owner=ens, status={"availableReplicas": 1}))
    change = table.apply(obj("Ensemble", "ens", spec={}))
    assert change is not None and change.after is not None
    assert change.after.phase is Phase.RUNNING
    assert change.after.started_at == "2026-11-21T10:00:05Z"  # the first member's start
    mc1 = ("flux-framework.org/v1alpha2", "MiniCluster", "ens-1")
    table.apply(job("ens-0", ("flux-framework.org/v1alpha2", "MiniCluster", "ens-0"), COMPLETE))
    assert table.owner_changes() == []  # member 1 still runs
    table.apply(job("ens-1", mc1, FAILED))
    changes: list[Change] = table.owner_changes()
    assert [c.key.kind for c in changes] == ["Ensemble"]  # the MiniClusters are folded in
    assert phase(table, "Ensemble", "ens") == (Phase.STOPPED, Outcome.FAILED)
    assert sorted(k.kind for k in table.exported()) == ["Ensemble"]


@pytest.mark.parametrize("spelling", ["replicatedJobsStatus", "ReplicatedJobsStatus"])
def test_a_metricset_is_its_jobset_suspended_and_resumed_then_completed(
    table: WorkloadTable, spelling: str
) -> None:
    ms = ("flux-framework.org/v1alpha2", "MetricSet", "ms")
    table.apply(obj("MetricSet", "ms", spec={}, status={}))
    jobset = obj("JobSet", "ms", owner=ms, spec={"replicatedJobs": []}, status={})
    table.apply(jobset)
    assert phase(table, "MetricSet", "ms") == (None, None)
    states: list[Obj] = [
        {spelling: [{"name": "l", "active": 1}]},
        {"conditions": [{"type": "Suspended", "status": "True"}]},
        {"conditions": [{"type": "Suspended", "status": "False"}], spelling: [{"name": "l", "active": 1}]},
        {"conditions": [{"type": "Completed", "status": "True", "lastTransitionTime": "2026-11-21T11:00:00Z"}]},
    ]  # fmt: skip
    seen = []
    for status in states:
        table.apply({**copy.deepcopy(jobset), "status": status})
        seen += [(c.after.phase, c.after.outcome) for c in table.owner_changes() if c.after]
    assert seen == [
        (Phase.RUNNING, None),
        (Phase.STOPPED, None),  # suspended (Kueue): pods gone, no outcome
        (Phase.RUNNING, None),  # resumed
        (Phase.STOPPED, Outcome.SUCCEEDED),
    ]


def test_a_cronjobs_runs_are_workloads_of_their_own(table: WorkloadTable) -> None:
    table.apply(obj("CronJob", "backup", spec={"jobTemplate": {"spec": {"template": {}}}}))
    cj = ("batch/v1", "CronJob", "backup")
    change = table.apply(job("backup-29389560", cj, COMPLETE))
    assert change is not None and change.after is not None
    assert change.after.outcome is Outcome.SUCCEEDED
    assert phase(table, "CronJob", "backup") == (Phase.RUNNING, None)
    table.apply(obj("CronJob", "backup", spec={"suspend": True}))
    assert phase(table, "CronJob", "backup") == (Phase.STOPPED, None)


def test_an_owner_cycle_is_cut(table: WorkloadTable) -> None:
    # Hostile ownerReferences: a MiniCluster owned by its own Job.
    table.apply(obj("MiniCluster", "mc", owner=("batch/v1", "Job", "mc"), spec={}))
    table.apply(job("mc", MC, ACTIVE))
    table.delete(ObjectKey("Job", "hpc", "mc"))
    assert len(table) <= 1
