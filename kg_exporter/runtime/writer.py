"""Writing one queued key: read its state now, render, PUT its subgraphs.

The state is read when the key is processed, not when it was queued, so what gets written is
always the latest (a key that started and stopped while the sink was down is written once, as
stopped). Failures propagate as sink errors; the workers decide what happens next.

A workload found at start-up (its written state unknown) is first read back and compared with the
live object (state/readback.py): an instance the graph holds that no longer exists (another uid)
has its stop written first; the same instance in the same phase is not written again and keeps
its recorded times (a Job whose outcome or times differ is rewritten); a tentative stop (found
scaled to 0) is written only over a graph that says running. A workload re-created while the
daemon was running has its previous instance's stop written before the new instance replaces it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

from kg_exporter.errors import SinkError, SinkRejected
from kg_exporter.identity import ObjectKey, SubgraphKind, workload_subgraph_id
from kg_exporter.kinds import NODE_KIND
from kg_exporter.metrics import DaemonMetrics
from kg_exporter.render.renderer import Renderer, Subgraph
from kg_exporter.runtime.health import Health
from kg_exporter.runtime.keys import GLACIATION_KIND, Orphan, WorkKey
from kg_exporter.sink import Sink
from kg_exporter.state.documents import described_key, mark_stopped, stored_lifecycle, stored_uid
from kg_exporter.state.nodes import NodeTable
from kg_exporter.state.projection import decode
from kg_exporter.state.readback import ReadBack, Stored, read_back
from kg_exporter.state.workloads import WorkloadRecord, WorkloadTable

log = logging.getLogger("kg_exporter.runtime")


class Writer:
    def __init__(
        self,
        renderer: Renderer,
        sink: Sink,
        workloads: WorkloadTable,
        nodes: NodeTable,
        metrics: DaemonMetrics,
        health: Health,
        *,
        now: Callable[[], str],
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        requeue: Callable[[WorkKey], None],
    ) -> None:
        self._renderer = renderer
        self._sink = sink
        self._workloads = workloads
        self._nodes = nodes
        self._metrics = metrics
        self._health = health
        self._now = now
        self._monotonic = monotonic
        self._wall = wall
        #: Queues a key again (the daemon's work queue); used to hand an orphan to its key.
        self._requeue = requeue
        self._cluster = renderer.settings.cluster_id

    async def process(self, key: WorkKey) -> None:
        if isinstance(key, Orphan):
            await self._orphan(key)
        elif key.kind == GLACIATION_KIND:
            await self._put_all(self._renderer.glaciation_node(self._nodes.members()))
        elif key.kind == NODE_KIND:
            await self._node(key.name)
        else:
            await self._workload(key)

    async def _workload(self, key: ObjectKey) -> None:
        record = self._workloads.get(key)
        if record is None:
            return
        if not record.written_known:
            await self._read_back(key, record)
        ended = record.ended
        if ended is not None:
            log.info("%s was re-created: recording the previous instance's stop first", key)
            previous = self._renderer.workload_from(decode(ended.projection), ended.lifecycle)
            await self._put_all(previous)
            self._workloads.ended_written(key, record, ended)
        if record.graph is None or not record.needs_write:
            return
        desired, uid = record.graph, record.uid
        inherited = [decode(p) for p in self._workloads.inherited(key)]
        subgraphs = self._renderer.workload_from(
            decode(record.projection), desired, inherited=inherited
        )
        await self._put_all(subgraphs)
        self._workloads.mark_written(key, record, desired, uid=uid)

    async def _read_back(self, key: ObjectKey, record: WorkloadRecord) -> None:
        """What the graph holds for a key found without knowing it (see state/readback.py)."""
        subgraph_id = workload_subgraph_id(self._cluster, key)
        document = await self._get(subgraph_id)
        lifecycle = stored_lifecycle(document)
        stored = Stored(stored_uid(document), lifecycle) if lifecycle is not None else None
        decision = self._decide(key, record, stored)
        if decision.end_stored is not None and stored is not None and document is not None:
            amended = mark_stopped(document, decision.end_stored.ended_at or self._now())
            if amended is not None:
                log.info(
                    "%s: the graph held another instance (uid %s) as running; it no longer "
                    "exists: writing it as stopped",
                    key,
                    stored.uid,
                )
                await self._put(Subgraph(subgraph_id, SubgraphKind.WORKLOAD, amended))
            # The record may have moved on while that was written: decide again from what the
            # graph holds now.
            decision = self._decide(key, record, Stored(stored.uid, decision.end_stored))
        self._workloads.read_back(key, record, decision)
        if stored is not None and not decision.writes and decision.end_stored is None:
            self._metrics.writes.labels(SubgraphKind.WORKLOAD.value, "unchanged").inc()
            log.debug("%s is already %s in the graph", key, stored.lifecycle.phase.value)

    def _decide(self, key: ObjectKey, record: WorkloadRecord, stored: Stored | None) -> ReadBack:
        return read_back(
            stored,
            uid=record.uid,
            desired=record.graph,
            clock_timed=self._workloads.kinds[key.kind].clock_timed,
            exists=record.exists,
            now=self._now(),
        )

    async def _node(self, name: str) -> None:
        record = self._nodes.get(name)
        if record is None:
            return
        present = record.present
        subgraphs = self._renderer.node(
            decode(record.projection), present=present, left_at=record.left_at
        )
        await self._put_all(subgraphs)
        self._nodes.mark_written(name, record, present=present)

    async def _orphan(self, orphan: Orphan) -> None:
        document = await self._get(orphan.subgraph_id)
        if document is None:
            return
        key = described_key(document, self._workloads.kinds)
        if key is not None and self._handed_over(key):
            return
        stopped = mark_stopped(document, self._now())
        if stopped is None:
            return
        log.info("%s was deleted while the daemon was down: writing it as stopped", key or orphan)
        await self._put(Subgraph(orphan.subgraph_id, orphan.kind, stopped))
        if key is not None:
            # Created again while that was written: its own write must come last.
            self._handed_over(key)

    def _handed_over(self, key: ObjectKey) -> bool:
        """When ``key``'s object exists again, hand the stored id over to the key itself: it
        reads the graph back (the stored instance may not be the live one) and writes last."""
        if not self._tracked(key):
            return False
        if key.kind != NODE_KIND:
            self._workloads.recheck(key)
        self._requeue(key)
        return True

    def _tracked(self, key: ObjectKey) -> bool:
        if key.kind == NODE_KIND:
            node = self._nodes.get(key.name)
            return node is not None and node.present
        record = self._workloads.get(key)
        return record is not None and record.exists and not record.folded

    async def _get(self, subgraph_id: str) -> dict[str, object] | None:
        try:
            document = await self._sink.get(subgraph_id)
        except SinkError as exc:
            self._health.sink_raised(exc)
            raise
        self._health.sink_succeeded()
        return document

    async def _put_all(self, subgraphs: Sequence[Subgraph]) -> None:
        results = await asyncio.gather(*(self._put(s) for s in subgraphs), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def _put(self, subgraph: Subgraph) -> None:
        kind = subgraph.kind.value
        started = self._monotonic()
        try:
            outcome = await self._sink.put(subgraph.id, subgraph.document)
        except SinkError as exc:
            label = "rejected" if isinstance(exc, SinkRejected) else "unavailable"
            self._metrics.writes.labels(kind, label).inc()
            self._health.sink_raised(exc)
            raise
        self._metrics.write_seconds.labels(kind).observe(self._monotonic() - started)
        self._metrics.writes.labels(kind, outcome.value).inc()
        self._metrics.last_write.set(self._wall())
        self._health.sink_succeeded()
