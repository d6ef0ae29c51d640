"""The writer never adopts another instance from the graph: every path that takes state from the
store rather than from the live object checks the instance (``kgx:uid``) first.

Driven through the real :class:`~kg_exporter.runtime.writer.Writer`, state tables, renderer and an
in-memory sink, one key at a time, so each race is set up exactly rather than hoped for.
"""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from kg_exporter.identity import ObjectKey, SubgraphKind, workload_subgraph_id
from kg_exporter.metrics import DaemonMetrics
from kg_exporter.render.facts import Lifecycle
from kg_exporter.render.renderer import Renderer
from kg_exporter.runtime.health import Health
from kg_exporter.runtime.keys import Orphan, WorkKey
from kg_exporter.runtime.writer import Writer
from kg_exporter.state.lifecycle import Phase
from kg_exporter.state.nodes import NodeTable
from kg_exporter.state.workloads import Scope, WorkloadTable
from tests.daemon.fakes import MemorySink
from tests.daemon.objects import deployment

NOW = "2026-11-02T08:00:00.000Z"
WEB = ObjectKey("Deployment", "default", "web")
WEB_ID = workload_subgraph_id("cluster1", WEB)


class Recorder(MemorySink):
    """A MemorySink that also records (id, phase, uid) of every workload document put."""

    def __init__(self) -> None:
        super().__init__()
        self.history: list[tuple[str, str, str]] = []

    async def put(self, subgraph_id: str, document: Any) -> Any:
        outcome = await super().put(subgraph_id, document)
        if subgraph_id.startswith("cluster1:workload:"):
            self.history.append((subgraph_id, *phase_and_uid(document)))
        return outcome


def phase_and_uid(document: dict[str, Any]) -> tuple[str, str]:
    found = {"kgx:phase": "", "kgx:uid": ""}
    for item in document.get("@graph", []):
        for field in found:
            if field in item:
                value = item[field]
                found[field] = str(value.get("@value") if isinstance(value, dict) else value)
    return found["kgx:phase"], found["kgx:uid"]


def live(uid: str, available: int, **meta: Any) -> dict[str, Any]:
    obj = deployment("web", **meta)
    obj["metadata"]["uid"] = uid
    obj["status"] = {"availableReplicas": available}
    return obj


class Rig:
    def __init__(self, renderer: Renderer) -> None:
        self.renderer = renderer
        self.sink = Recorder()
        self.workloads = WorkloadTable(lambda: NOW, reconciled=False)
        self.nodes = NodeTable(lambda: NOW)
        self.queued: list[WorkKey] = []
        self.writer = Writer(
            renderer,
            self.sink,
            self.workloads,
            self.nodes,
            DaemonMetrics(CollectorRegistry()),
            Health(lambda: 0.0),
            now=lambda: NOW,
            requeue=self.queued.append,
        )

    def store(self, obj: dict[str, Any], lifecycle: Lifecycle) -> None:
        for subgraph in self.renderer.workload(obj, lifecycle=lifecycle):
            self.sink.store[subgraph.id] = subgraph.document


@pytest.fixture
def rig(renderer: Renderer) -> Rig:
    return Rig(renderer)


RUNNING_BEFORE = Lifecycle(Phase.RUNNING, "2026-10-01T00:00:00Z")


async def test_an_orphan_whose_object_exists_again_is_handed_to_the_key(rig: Rig) -> None:
    # Reconciliation listed web as an orphan (no object); the new instance was created before
    # the orphan's worker ran, and has not started.
    rig.store(live("old", 1), RUNNING_BEFORE)
    rig.workloads.reconciled = True
    rig.workloads.apply(live("new", 0))
    await rig.writer.process(Orphan(WEB_ID, SubgraphKind.WORKLOAD))
    assert rig.queued == [WEB] and rig.sink.history == [], "handed over, nothing written yet"
    await rig.writer.process(WEB)
    assert rig.sink.history == [(WEB_ID, "stopped", "old")], "the old instance ended"


async def test_an_orphan_whose_object_appears_while_it_writes_lets_the_key_write_last(
    rig: Rig,
) -> None:
    rig.store(live("old", 1), RUNNING_BEFORE)
    rig.workloads.reconciled = True
    real_put = rig.sink.put

    async def put_then_appear(subgraph_id: str, document: Any) -> Any:
        outcome = await real_put(subgraph_id, document)
        rig.workloads.apply(live("new", 1))  # created and started during the orphan's PUT
        return outcome

    rig.sink.put = put_then_appear  # type: ignore[method-assign]
    await rig.writer.process(Orphan(WEB_ID, SubgraphKind.WORKLOAD))
    rig.sink.put = real_put  # type: ignore[method-assign]
    assert rig.queued == [WEB]
    await rig.writer.process(WEB)
    assert rig.sink.history == [(WEB_ID, "stopped", "old"), (WEB_ID, "running", "new")]


async def test_at_start_up_the_ended_instance_is_stopped_before_the_new_one_is_written(
    rig: Rig,
) -> None:
    rig.store(live("old", 1), RUNNING_BEFORE)
    rig.workloads.replace(Scope("Deployment"), [live("new", 1)], seen_live=False)
    await rig.writer.process(WEB)
    assert rig.sink.history == [(WEB_ID, "stopped", "old"), (WEB_ID, "running", "new")]
    record = rig.workloads.get(WEB)
    assert record is not None and not record.needs_write


async def test_a_key_first_seen_before_reconciliation_is_read_back(rig: Rig) -> None:
    # Created after the start-up listing, before reconciliation listed the stored ids: the
    # graph may hold an older instance under its name.
    rig.store(live("old", 1), RUNNING_BEFORE)
    rig.workloads.apply(live("new", 0))
    record = rig.workloads.get(WEB)
    assert record is not None and not record.written_known
    await rig.writer.process(WEB)
    assert rig.sink.history == [(WEB_ID, "stopped", "old")]


async def test_a_relist_that_finds_a_new_running_instance_records_the_old_stop_first(
    rig: Rig,
) -> None:
    rig.workloads.reconciled = True
    rig.workloads.apply(live("old", 1))
    await rig.writer.process(WEB)
    # The watch was down (410) while web was deleted and re-created; it is running already.
    rig.workloads.replace(Scope("Deployment"), [live("new", 1, labels={"v": "2"})])
    await rig.writer.process(WEB)
    assert rig.sink.history == [
        (WEB_ID, "running", "old"),
        (WEB_ID, "stopped", "old"),
        (WEB_ID, "running", "new"),
    ]
