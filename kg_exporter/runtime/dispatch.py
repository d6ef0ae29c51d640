"""From what the watches see to keys in the work queue.

The :class:`Dispatcher` is the watch :class:`~kg_exporter.watch.Handler`: it updates the state
tables, and queues a key only when what the graph should say changed (a workload started or
stopped, a node joined or left). Everything here is synchronous and in memory, so the watch
streams are never held up by the Metadata Service.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from kg_exporter.errors import RenderError
from kg_exporter.identity import ObjectKey
from kg_exporter.kinds import NODE_KIND, object_key
from kg_exporter.metrics import DaemonMetrics
from kg_exporter.queue import WorkQueue
from kg_exporter.runtime.keys import WorkKey
from kg_exporter.state.nodes import NodeRelist, NodeTable
from kg_exporter.state.workloads import Change, Relist, Scope, WorkloadTable
from kg_exporter.watch import EventType, Target

log = logging.getLogger("kg_exporter.runtime")


class Dispatcher:
    def __init__(
        self,
        workloads: WorkloadTable,
        nodes: NodeTable,
        queue: WorkQueue[WorkKey],
        metrics: DaemonMetrics,
        targets: list[Target],
        *,
        glaciation: ObjectKey,
    ) -> None:
        self.workloads = workloads
        self.nodes = nodes
        self._queue = queue
        self._metrics = metrics
        self._pending_sync = set(targets)
        self._relists: dict[Target, Relist | NodeRelist] = {}
        self._glaciation = glaciation
        #: Set once every target's first listing has been processed.
        self.synced = asyncio.Event()
        if not targets:
            self.synced.set()

    # -- Handler ---------------------------------------------------------------------------

    def list_started(self, target: Target) -> None:
        if target.kind == NODE_KIND:
            self._relists[target] = self.nodes.relist()
        else:
            scope = Scope(target.kind, target.namespace)
            seen_live = target not in self._pending_sync
            self._relists[target] = self.workloads.relist(scope, seen_live=seen_live)

    def listed(self, target: Target, obj: Mapping[str, Any]) -> None:
        self._metrics.watch_events.labels(target.kind, "LISTED").inc()
        relist = self._relists[target]
        try:
            if isinstance(relist, NodeRelist):
                if relist.add(obj):
                    self._node_changed(o_name(obj), joined=True)
            else:
                # The first listing's keys are queued by the reconciliation, which learns first
                # which of them the Metadata Service already holds.
                queue = target not in self._pending_sync
                self._changed(relist.add(obj), queue=queue)
                self._owners_changed(queue=queue)
        except RenderError as exc:
            log.warning("ignoring a listed %s: %s", target.kind, exc)

    def list_finished(self, target: Target) -> None:
        relist = self._relists.pop(target)
        first = target in self._pending_sync
        if isinstance(relist, NodeRelist):
            left = relist.finish()
            for name in left:
                self._node_changed(name, joined=False)
            if left:
                log.info("%d nodes left while the watch was down: %s", len(left), ", ".join(left))
            if first:
                self._queue.add(self._glaciation)  # ensure it exists, whatever changed
        else:
            handled = len(relist.changes)
            vanished = relist.finish()
            for change in relist.changes[handled:]:
                self._changed(change)
            self._owners_changed()
            if vanished:
                shown = ", ".join(str(k) for k in vanished[:10])
                more = f" and {len(vanished) - 10} more" if len(vanished) > 10 else ""
                log.info(
                    "%d %s vanished while the watch was down; stopping %s%s",
                    len(vanished),
                    target.plural,
                    shown,
                    more,
                )
        if first:
            self._pending_sync.discard(target)
            if not self._pending_sync:
                log.info(
                    "initial listing done: %d workloads, %d nodes",
                    len(self.workloads),
                    len(self.nodes),
                )
                self.synced.set()

    def event(self, target: Target, event_type: EventType, obj: Mapping[str, Any]) -> None:
        self._metrics.watch_events.labels(target.kind, event_type.value).inc()
        try:
            if target.kind == NODE_KIND:
                self._node_event(event_type, obj)
            elif event_type is EventType.DELETED:
                self._changed(self.workloads.delete(object_key(obj, self.workloads.kinds), obj))
                self._owners_changed()
            else:
                self._changed(self.workloads.apply(obj))
                self._owners_changed()
        except RenderError as exc:
            log.warning("ignoring a %s %s event: %s", event_type.value, target.kind, exc)

    # -- internals -------------------------------------------------------------------------

    def _node_event(self, event_type: EventType, obj: Mapping[str, Any]) -> None:
        name = o_name(obj)
        if event_type is EventType.DELETED:
            if self.nodes.delete(name, obj):
                self._node_changed(name, joined=False)
        elif self.nodes.apply(obj):
            self._node_changed(name, joined=True)

    def _node_changed(self, name: str, *, joined: bool) -> None:
        self._metrics.transitions.labels(NODE_KIND, "running" if joined else "stopped").inc()
        log.info("node %s %s", name, "joined" if joined else "left")
        self._queue.add(ObjectKey(NODE_KIND, None, name))
        if not self._pending_sync or NODE_KIND not in {t.kind for t in self._pending_sync}:
            self._queue.add(self._glaciation)

    def _owners_changed(self, *, queue: bool = True) -> None:
        for change in self.workloads.owner_changes():
            self._changed(change, queue=queue)

    def _changed(self, change: Change | None, *, queue: bool = True) -> None:
        if change is None or change.after is None:
            return
        phase = change.after.phase.value
        self._metrics.transitions.labels(change.key.kind, phase).inc()
        before = change.before.phase.value if change.before is not None else "unknown"
        log.log(logging.INFO if queue else logging.DEBUG, "%s: %s -> %s", change.key, before, phase)
        if queue:
            self._queue.add(change.key)


def o_name(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, Mapping) else None
    if not isinstance(name, str) or not name:
        raise RenderError("object without metadata.name")
    return name
