"""Writing one queued key: read its state now, render, PUT its subgraphs.

The state is read when the key is processed, not when it was queued, so what gets written is
always the latest (a key that started and stopped while the sink was down is written once, as
stopped). Failures propagate as sink errors; the workers decide what happens next.

A workload found at start-up (its written state unknown) is first read back: when the graph
already says the same phase, nothing is written and the recorded times are kept; a tentative stop
(found scaled to 0) is written only over a graph that says running.
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
from kg_exporter.render.facts import Lifecycle
from kg_exporter.render.renderer import Renderer, Subgraph
from kg_exporter.runtime.health import Health
from kg_exporter.runtime.keys import GLACIATION_KIND, Orphan, WorkKey
from kg_exporter.sink import Sink
from kg_exporter.state.documents import described_key, mark_stopped, stored_lifecycle
from kg_exporter.state.lifecycle import Phase
from kg_exporter.state.nodes import NodeTable
from kg_exporter.state.projection import decode
from kg_exporter.state.transitions import is_tentative
from kg_exporter.state.workloads import WorkloadTable

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
        if record is None or record.graph is None or not record.needs_write:
            return
        desired = record.graph
        if not record.written_known:
            stored = stored_lifecycle(await self._get(workload_subgraph_id(self._cluster, key)))
            if stored is not None and stored.phase is desired.phase:
                self._workloads.adopt(key, record, stored, expected=desired)
                self._metrics.writes.labels(SubgraphKind.WORKLOAD.value, "unchanged").inc()
                log.debug("%s is already %s in the graph", key, stored.phase.value)
                return
            if is_tentative(desired):
                if stored is None or stored.phase is not Phase.RUNNING:
                    self._workloads.mark_written(key, record, desired)
                    self._workloads.forget(key, record)
                    return
                refined = Lifecycle(Phase.STOPPED, stored.started_at, desired.ended_at)
                self._workloads.refine(key, record, desired, refined)
                desired = refined
        inherited = [decode(p) for p in self._workloads.inherited(key)]
        subgraphs = self._renderer.workload_from(
            decode(record.projection), desired, inherited=inherited
        )
        await self._put_all(subgraphs)
        self._workloads.mark_written(key, record, desired)

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
        if key is not None and self._tracked(key):
            return  # it exists again: its own key writes it
        stopped = mark_stopped(document, self._now())
        if stopped is None:
            return
        log.info("%s was deleted while the daemon was down: writing it as stopped", key or orphan)
        await self._put(Subgraph(orphan.subgraph_id, orphan.kind, stopped))

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
