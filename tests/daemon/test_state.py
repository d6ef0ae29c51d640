"""The per-key state: what changes the graph, what does not, and what vanished during a relist."""

from __future__ import annotations

from typing import Any

import pytest

from kg_exporter.identity import ObjectKey
from kg_exporter.render.facts import Lifecycle
from kg_exporter.state.lifecycle import Outcome, Phase
from kg_exporter.state.nodes import NodeTable
from kg_exporter.state.projection import decode
from kg_exporter.state.readback import Stored, read_back
from kg_exporter.state.workloads import Scope, WorkloadTable
from tests.daemon.objects import deployment, job, job_finished, node, statefulset


class Ticker:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> str:
        self.n += 1
        return f"2026-11-01T12:00:{self.n:02d}.000Z"


def live(obj: dict[str, Any], uid: str = "u1", **status: Any) -> dict[str, Any]:
    obj = dict(obj)
    obj["metadata"] = {**obj["metadata"], "uid": uid}
    obj["status"] = status
    return obj


WEB = ObjectKey("Deployment", "default", "web")


@pytest.fixture
def table() -> WorkloadTable:
    return WorkloadTable(Ticker())


def test_start_and_stop_are_changes_and_status_churn_is_not(table: WorkloadTable) -> None:
    assert table.apply(live(deployment("web"), availableReplicas=0)) is None
    change = table.apply(live(deployment("web"), availableReplicas=1))
    assert change is not None and change.after == Lifecycle(
        Phase.RUNNING, "2026-11-01T12:00:02.000Z"
    )
    for ready in (2, 3, 1, 2):
        assert table.apply(live(deployment("web"), availableReplicas=ready)) is None
    scaled = live(deployment("web", replicas=0), availableReplicas=0)
    change = table.apply(scaled)
    assert change is not None and change.after is not None
    assert change.after.phase is Phase.STOPPED and change.after.ended_at is not None


def test_the_latest_projection_is_kept_without_a_change(table: WorkloadTable) -> None:
    table.apply(live(deployment("web"), availableReplicas=1))
    relabelled = live(deployment("web", labels={"tier": "gold"}), availableReplicas=1)
    assert table.apply(relabelled) is None
    record = table.get(WEB)
    assert record is not None
    assert decode(record.projection)["labels"] == {"tier": "gold"}


def test_delete_stops_a_running_workload_and_forgets_it_once_written(table: WorkloadTable) -> None:
    table.apply(live(deployment("web"), availableReplicas=1))
    change = table.delete(WEB)
    assert change is not None and change.after is not None and change.after.phase is Phase.STOPPED
    record = table.get(WEB)
    assert record is not None and not record.exists and record.needs_write  # a tombstone
    table.mark_written(WEB, record, change.after, uid=record.uid)
    assert table.get(WEB) is None


def test_delete_of_a_never_started_workload_is_forgotten_at_once(table: WorkloadTable) -> None:
    table.apply(live(deployment("web"), availableReplicas=0))
    assert table.delete(WEB) is None
    assert table.get(WEB) is None and len(table) == 0


def test_a_job_deleted_after_completing_keeps_its_outcome(table: WorkloadTable) -> None:
    table.apply(live(job("report"), **{"startTime": "2026-11-01T10:00:00Z", "active": 1}))
    final = live(job("report"), **job_finished("failed"))
    change = table.delete(ObjectKey("Job", "default", "report"), final)
    assert change is not None and change.after is not None
    assert change.after.outcome is Outcome.FAILED


def test_recreated_while_not_looking_restarts(table: WorkloadTable) -> None:
    table.apply(live(deployment("web"), uid="old", availableReplicas=1))
    record = table.get(WEB)
    assert record is not None
    table.mark_written(WEB, record, record.graph, uid=record.uid)  # type: ignore[arg-type]
    # Same name, new uid, not started yet: the old instance stopped; its projection is kept.
    change = table.apply(live(deployment("web", labels={"v": "2"}), uid="new", availableReplicas=0))
    assert change is not None and change.after is not None and change.after.phase is Phase.STOPPED
    assert decode(record.projection)["labels"] == {}
    # The new instance starts: running again, with its own projection.
    change = table.apply(live(deployment("web", labels={"v": "2"}), uid="new", availableReplicas=1))
    assert change is not None and change.after is not None and change.after.phase is Phase.RUNNING
    assert decode(record.projection)["labels"] == {"v": "2"}


def test_replace_yields_vanished_keys_and_stops_them(table: WorkloadTable) -> None:
    for name in ("a", "b", "c"):
        table.apply(live(deployment(name), availableReplicas=1))
    table.apply(live(statefulset("db"), readyReplicas=1))
    table.apply(live(deployment("x", ns="other"), availableReplicas=1))
    listing = [
        live(deployment("a"), availableReplicas=1),
        live(deployment("c"), availableReplicas=1),
    ]
    changes, vanished = table.replace(Scope("Deployment", "default"), listing)
    assert vanished == [ObjectKey("Deployment", "default", "b")]
    assert [(c.key.name, c.after.phase if c.after else None) for c in changes] == [
        ("b", Phase.STOPPED)
    ]
    # Other kinds and namespaces are outside the scope: untouched.
    assert table.get(ObjectKey("StatefulSet", "default", "db")) is not None
    other = table.get(ObjectKey("Deployment", "other", "x"))
    assert other is not None and other.exists


def test_replace_over_all_namespaces(table: WorkloadTable) -> None:
    table.apply(live(deployment("a"), availableReplicas=1))
    table.apply(live(deployment("x", ns="other"), availableReplicas=1))
    _, vanished = table.replace(Scope("Deployment"), [live(deployment("a"), availableReplicas=1)])
    assert vanished == [ObjectKey("Deployment", "other", "x")]


def test_first_listing_leaves_the_written_state_unknown(table: WorkloadTable) -> None:
    listing = [
        live(deployment("up"), availableReplicas=1),
        live(deployment("zero", replicas=0), availableReplicas=0),
        live(deployment("pending"), availableReplicas=0),
    ]
    changes, _ = table.replace(Scope("Deployment"), listing, seen_live=False)
    by_name = {c.key.name: c.after for c in changes}
    assert set(by_name) == {"up", "zero"}  # pending: nothing to say
    assert by_name["zero"] == Lifecycle(Phase.STOPPED, None, by_name["zero"].ended_at)  # type: ignore[union-attr]
    for name in ("up", "zero", "pending"):
        record = table.get(ObjectKey("Deployment", "default", name))
        assert record is not None and not record.written_known


def test_a_read_back_decision_applies_to_the_record_it_was_made_for(
    table: WorkloadTable,
) -> None:
    table.replace(
        Scope("Deployment"), [live(deployment("web"), availableReplicas=1)], seen_live=False
    )
    record = table.get(WEB)
    assert record is not None and record.graph is not None
    stored = Stored("u1", Lifecycle(Phase.RUNNING, "2026-10-01T00:00:00Z"))
    decision = read_back(
        stored, uid="u1", desired=record.graph, clock_timed=True, exists=True, now="t"
    )
    table.read_back(WEB, record, decision)
    assert record.graph == stored.lifecycle and not record.needs_write
    # A stop seen later keeps the recorded start.
    table.apply(live(deployment("web", replicas=0), availableReplicas=0))
    assert record.graph is not None and record.graph.phase is Phase.STOPPED and record.needs_write
    assert record.graph.started_at == "2026-10-01T00:00:00Z"


def test_a_tombstone_whose_graph_is_unknown_waits_for_its_read_back(table: WorkloadTable) -> None:
    table.reconciled = False
    table.apply(live(deployment("web"), availableReplicas=0))  # not started
    assert table.delete(WEB) is None
    record = table.get(WEB)
    assert record is not None and not record.exists, "the graph may hold it: kept to read back"
    table.learn_absent(WEB, record)
    assert table.get(WEB) is None, "nothing stored, nothing to write: forgotten"


def test_new_keys_are_known_absent_only_once_reconciled(table: WorkloadTable) -> None:
    table.reconciled = False
    table.apply(live(deployment("early"), availableReplicas=1))
    table.reconciled = True
    table.apply(live(deployment("late"), availableReplicas=1))
    early = table.get(ObjectKey("Deployment", "default", "early"))
    late = table.get(ObjectKey("Deployment", "default", "late"))
    assert early is not None and not early.written_known
    assert late is not None and late.written_known and late.written is None


def test_a_job_run_again_under_the_same_name_says_its_own_outcome(table: WorkloadTable) -> None:
    key = ObjectKey("Job", "default", "nightly")
    table.apply(live(job("nightly"), uid="run1", **job_finished("succeeded")))
    record = table.get(key)
    assert record is not None and record.graph is not None
    table.mark_written(key, record, record.graph, uid=record.uid)
    # Deleted, created again and failed while the watch was down: a relist finds the new run.
    rerun = live(job("nightly"), uid="run2", **job_finished("failed"))
    changes, vanished = table.replace(Scope("Job"), [rerun])
    assert vanished == [] and [c.key for c in changes] == [key]
    assert record.graph is not None and record.graph.outcome is Outcome.FAILED
    assert record.uid == "run2" and record.ended is None, "the old run's stop is already written"


def test_a_recreated_instance_that_started_records_the_old_stop_first(table: WorkloadTable) -> None:
    table.apply(live(deployment("web"), uid="old", availableReplicas=1))
    record = table.get(WEB)
    assert record is not None and record.graph is not None
    table.mark_written(WEB, record, record.graph, uid=record.uid)
    started = record.graph.started_at
    # Deleted and re-created, already running, before the daemon wrote anything in between.
    changes, _ = table.replace(
        Scope("Deployment"),
        [live(deployment("web", labels={"v": "2"}), uid="new", availableReplicas=1)],
    )
    assert [c.after.phase if c.after else None for c in changes] == [Phase.RUNNING]
    assert record.ended is not None and record.needs_write
    assert record.ended.lifecycle.phase is Phase.STOPPED
    assert record.ended.lifecycle.started_at == started, "the old instance's own start"
    assert decode(record.ended.projection)["labels"] == {}, "rendered as the old one"
    assert record.graph is not None and record.graph.started_at != started
    table.ended_written(WEB, record, record.ended)
    assert record.ended is None and record.needs_write, "then the new instance"


def test_nodes_join_and_leave() -> None:
    nodes = NodeTable(Ticker())
    assert nodes.apply(node("n1")) is True
    assert nodes.apply(node("n1", ready=False)) is False  # status churn
    assert nodes.apply(node("n2")) is True
    assert nodes.members() == ["n1", "n2"]
    assert nodes.delete("n1") is True
    assert nodes.members() == ["n2"]
    record = nodes.get("n1")
    assert record is not None and record.left_at is not None
    assert nodes.apply(node("n1")) is True  # back
    joined, left = nodes.replace([node("n1"), node("n3")])
    assert joined == ["n3"] and left == ["n2"]
    record = nodes.get("n2")
    assert record is not None
    nodes.mark_written("n2", record, present=False)
    assert nodes.get("n2") is None


def test_a_node_back_with_another_uid_joined_again() -> None:
    nodes = NodeTable(Ticker())
    first = node("n1")
    first["metadata"]["uid"] = "a"
    assert nodes.apply(first) is True
    assert nodes.apply(first) is False
    again = node("n1")
    again["metadata"]["uid"] = "b"
    # It left and joined while the watch was down: a relist sees only the new uid.
    assert nodes.replace([again]) == (["n1"], [])
    record = nodes.get("n1")
    assert record is not None and record.uid == "b" and record.present


def test_a_new_instance_with_the_very_same_lifecycle_is_still_written(
    table: WorkloadTable,
) -> None:
    key = ObjectKey("Job", "default", "fixed")
    table.apply(live(job("fixed"), uid="run1", **job_finished("succeeded")))
    record = table.get(key)
    assert record is not None and record.graph is not None
    table.mark_written(key, record, record.graph, uid="run1")
    assert not record.needs_write
    # Re-run under the same name with the same times (a fixed clock, a replayed status).
    changes, _ = table.replace(
        Scope("Job"), [live(job("fixed"), uid="run2", **job_finished("succeeded"))]
    )
    assert [c.key for c in changes] == [key], "queued: the graph describes the old run"
    assert record.needs_write and record.uid == "run2"
