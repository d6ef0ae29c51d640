"""The per-key state: what changes the graph, what does not, and what vanished during a relist."""

from __future__ import annotations

from typing import Any

import pytest

from kg_exporter.identity import ObjectKey
from kg_exporter.render.facts import Lifecycle
from kg_exporter.state.lifecycle import Outcome, Phase
from kg_exporter.state.nodes import NodeTable
from kg_exporter.state.projection import decode
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
    table.mark_written(WEB, record, change.after)
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
    table.mark_written(WEB, record, record.graph)  # type: ignore[arg-type]
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


def test_adopt_keeps_the_stored_times_unless_the_state_moved_on(table: WorkloadTable) -> None:
    table.replace(
        Scope("Deployment"), [live(deployment("web"), availableReplicas=1)], seen_live=False
    )
    record = table.get(WEB)
    assert record is not None and record.graph is not None
    stored = Lifecycle(Phase.RUNNING, "2026-10-01T00:00:00Z")
    table.adopt(WEB, record, stored, expected=record.graph)
    assert record.graph == stored and not record.needs_write
    # Moved on meanwhile: the newer graph stays and still needs writing.
    running = record.graph
    table.apply(live(deployment("web", replicas=0), availableReplicas=0))
    table.adopt(WEB, record, stored, expected=running)
    assert record.graph is not None and record.graph.phase is Phase.STOPPED and record.needs_write


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
