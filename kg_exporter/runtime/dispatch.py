"""From what the watches see to keys in the work queue.

The :class:`Dispatcher` is the watch :class:`~kg_exporter.watch.Handler`: it updates the state
tables, and queues a key only when what the graph should say changed (a workload started or
stopped, a node joined or left). Everything here is synchronous and in memory, so the watch
streams are never held up by the Metadata Service.

It also knows which scopes (a kind, in a namespace or all) have had their first listing: the
daemon is synced once every scope it waits for has; a scope can be released from that wait (its
kind is not served, or refused with 403). The keys of a first listing are queued by the
reconciliation, which first learns what the Metadata Service already holds; a first listing that
ends after the initial sync (a CRD installed later, a 403 lifted) calls ``on_late_listing`` so
the daemon reconciles that scope alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
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
        scopes = {scope_of(t) for t in targets}
        #: Scopes whose first listing the initial sync waits for.
        self._pending_sync = set(scopes)
        #: Scopes not listed yet.
        self._unlisted = set(scopes)
        #: Scopes released without a listing whose objects are unknown (403): not reconciled.
        self._unknown: set[Scope] = set()
        self._relists: dict[Target, Relist | NodeRelist] = {}
        self._glaciation = glaciation
        #: Set once every waited-for scope's first listing has been processed.
        self.synced = asyncio.Event()
        #: Called with a target whose first listing ended after the initial sync.
        self.on_late_listing: Callable[[Target], None] | None = None
        if not targets:
            self.synced.set()

    # -- what is waited for ----------------------------------------------------------------

    def release(self, target: Target, *, known_empty: bool) -> None:
        """Stop waiting for ``target``'s first listing. ``known_empty``: its kind is not served,
        so nothing of it exists (the reconciliation may stop what the graph still says runs);
        otherwise (403) what exists is unknown and left alone until it can be listed."""
        scope = scope_of(target)
        if known_empty:
            self._unknown.discard(scope)
        elif scope in self._unlisted:
            self._unknown.add(scope)
        if scope in self._pending_sync:
            self._pending_sync.discard(scope)
            self._check_synced()

    def reconcilable(self, targets: Iterable[Target]) -> list[Target]:
        """The targets whose objects are known (listed, or known not to exist)."""
        return [t for t in targets if scope_of(t) not in self._unknown]

    def gone(self, target: Target) -> None:
        """``target``'s resource is no longer served: whatever of it was tracked has ended."""
        scope = scope_of(target)
        if scope in self._unlisted:
            self.release(target, known_empty=True)
            return
        if target.kind == NODE_KIND:
            return  # nodes are always served
        relist = self.workloads.relist(Scope(target.kind, target.namespace))
        vanished = relist.finish()
        for change in relist.changes:
            self._changed(change)
        if vanished:
            log.info("%d %s stopped with their resource", len(vanished), target.plural)

    def _check_synced(self) -> None:
        if not self._pending_sync and not self.synced.is_set():
            log.info(
                "initial listing done: %d workloads, %d nodes",
                len(self.workloads),
                len(self.nodes),
            )
            self.synced.set()

    # -- Handler ---------------------------------------------------------------------------

    def list_started(self, target: Target) -> None:
        if target.kind == NODE_KIND:
            self._relists[target] = self.nodes.relist()
        else:
            scope = scope_of(target)
            seen_live = scope not in self._unlisted
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
                queue = scope_of(target) not in self._unlisted
                self._changed(relist.add(obj), queue=queue)
                self._owners_changed(queue=queue)
        except RenderError as exc:
            log.warning("ignoring a listed %s: %s", target.kind, exc)

    def list_finished(self, target: Target) -> None:
        relist = self._relists.pop(target)
        scope = scope_of(target)
        first = scope in self._unlisted
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
            self._unlisted.discard(scope)
            self._unknown.discard(scope)
            if scope in self._pending_sync:
                self._pending_sync.discard(scope)
                self._check_synced()
            elif self.synced.is_set() and self.on_late_listing is not None:
                self.on_late_listing(target)

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
        if NODE_KIND not in {s.kind for s in self._pending_sync}:
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


def scope_of(target: Target) -> Scope:
    """What a target covers, whatever version it is watched at."""
    return Scope(target.kind, target.namespace)
