"""The inventory: facts kept current by what the watches see, and what ended remembered until a
snapshot holding it is written (also when the service is down meanwhile)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry

from kg_exporter.glaciation.config import GlaciationSettings
from kg_exporter.glaciation.inventory import Inventory
from kg_exporter.glaciation.metrics import GlaciationMetrics
from kg_exporter.glaciation.render import SnapshotRenderer
from kg_exporter.glaciation.snapshotter import Snapshotter
from kg_exporter.glaciation.writer import SnapshotWriter
from kg_exporter.settings import SinkSettings
from kg_exporter.sink.glaciation_api import open_glaciation_api
from kg_exporter.watch import EventType, Target
from tests.glaciation.service import GlaciationService
from tests.support.processes import free_port

NODES = Target("Node", "", "v1", "nodes")
PODS = Target("Pod", "", "v1", "pods")
END = "2026-12-01T12:00:00Z"


def pod(name: str, phase: str = "Running") -> dict[str, Any]:
    return {
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "ns"},
        "spec": {"nodeName": "n1"},
        "status": {
            "phase": phase,
            "containerStatuses": [{"name": "c", "state": {"running": {"startedAt": END}}}],
        },
    }


def inventory(changes: list[str]) -> Inventory:
    return Inventory(
        [NODES, PODS],
        GlaciationMetrics(CollectorRegistry()),
        now=lambda: END,
        on_change=lambda: changes.append("changed"),
    )


def listing(inv: Inventory, target: Target, objects: list[dict[str, Any]]) -> None:
    inv.list_started(target)
    for obj in objects:
        inv.listed(target, obj)
    inv.list_finished(target)


def test_synced_after_every_target_listed_and_changes_only_when_facts_change() -> None:
    changes: list[str] = []
    inv = inventory(changes)
    listing(inv, NODES, [{"kind": "Node", "metadata": {"name": "n1"}}])
    assert not inv.synced
    listing(inv, PODS, [pod("a")])
    assert inv.synced and len(changes) == 2
    inv.event(PODS, EventType.MODIFIED, pod("a"))  # the same facts (a status heartbeat)
    assert len(changes) == 2
    inv.event(PODS, EventType.MODIFIED, pod("a", "Succeeded"))
    assert len(changes) == 3 and inv.state.pods["ns.a"]["phase"] == "Succeeded"


def test_deleted_and_vanished_resources_end() -> None:
    inv = inventory([])
    listing(inv, NODES, [{"kind": "Node", "metadata": {"name": "n1"}}])
    listing(inv, PODS, [pod("a"), pod("b")])
    inv.event(PODS, EventType.DELETED, {"metadata": {"name": "a", "namespace": "ns"}})
    listing(inv, NODES, [])  # the node is gone at a relist
    assert set(inv.ended) == {"ns.a", "ns.a.c", "n1"}
    assert inv.ended["ns.a"] == {"id": "ns.a", "description": "Pod", "state": "Unknown", "end": END}
    assert inv.ended["ns.a.c"]["state"] == "terminated"
    listing(inv, PODS, [pod("a"), pod("b")])  # re-created under the same name
    assert set(inv.ended) == {"n1"}


def test_a_skipped_object_is_counted() -> None:
    inv = inventory([])
    inv.event(PODS, EventType.ADDED, {"metadata": {"name": "bad name", "namespace": "ns"}})
    assert inv.state.pods == {}
    assert inv._metrics.skipped_objects.labels("Pod")._value.get() == 1


def writer_to(url: str, metrics: GlaciationMetrics) -> SnapshotWriter:
    settings = SinkSettings(kind="glaciation", url=url, max_attempts=1, timeout_seconds=60)
    return SnapshotWriter(open_glaciation_api(settings), metrics)


async def test_an_end_is_kept_until_a_snapshot_with_it_is_written(
    glaciation_service: GlaciationService,
) -> None:
    metrics = GlaciationMetrics(CollectorRegistry())
    inv = inventory([])
    listing(inv, NODES, [])
    listing(inv, PODS, [pod("gone")])
    inv.event(PODS, EventType.DELETED, pod("gone"))
    renderer = SnapshotRenderer(GlaciationSettings())
    down = writer_to(f"http://127.0.0.1:{free_port()}", metrics)
    up = writer_to(glaciation_service.url, metrics)
    try:
        failing = Snapshotter(
            inv, renderer, None, down, metrics, interval_seconds=10, change_delay_seconds=0
        )
        assert await failing.snapshot() is False
        assert "ns.gone" in inv.ended
        working = Snapshotter(
            inv, renderer, None, up, metrics, interval_seconds=10, change_delay_seconds=0
        )
        assert await working.snapshot() is True
        assert inv.ended == {}
    finally:
        await down.aclose()
        await up.aclose()
    assert metrics.snapshots.labels("failed")._value.get() == 1
    assert metrics.snapshots.labels("written")._value.get() == 1


async def test_what_ended_while_nobody_watched_is_closed_at_start(
    glaciation_service: GlaciationService,
) -> None:
    """A restarted profile reads this cluster's newest snapshot: what it shows live and the
    cluster no longer has (a pod deleted while the exporter was down) ends in the next one."""
    metrics = GlaciationMetrics(CollectorRegistry())
    cluster = f"cluster-{free_port()}"
    renderer = SnapshotRenderer(GlaciationSettings())
    before = inventory([])
    listing(before, NODES, [{"kind": "Node", "metadata": {"name": "n1"}}])
    listing(before, PODS, [pod("kept"), pod("deleted-while-down")])
    settings = SinkSettings(kind="glaciation", url=glaciation_service.url)
    writer = SnapshotWriter(open_glaciation_api(settings), metrics, writer=cluster)
    try:
        await Snapshotter(
            before, renderer, None, writer, metrics, interval_seconds=10, change_delay_seconds=0
        ).snapshot()
        previous = await writer.live_resources()
    finally:
        await writer.aclose()
    base = GlaciationSettings().resource_base
    after = inventory([])
    listing(after, NODES, [{"kind": "Node", "metadata": {"name": "n1"}}])
    listing(after, PODS, [pod("kept")])
    ids = {iri.removeprefix(base): d for iri, d in previous.items()}
    assert after.close_missing(ids, END) == 2
    assert {rid: e["state"] for rid, e in after.ended.items()} == {
        "ns.deleted-while-down": "Unknown",
        "ns.deleted-while-down.c": "terminated",
    }
