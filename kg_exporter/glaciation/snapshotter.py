"""The profile's loop: every ``interval_seconds`` (and ``change_delay_seconds`` after the cluster
changed), sample, render and write one snapshot.

One snapshot is in flight at a time. A write that fails after its attempts is not queued: the next
snapshot (a fresh one, at the next tick) supersedes it, and what ended meanwhile stays pending
until a snapshot holding it is written, so no end of a node or pod is lost while the service is
down. A failing Prometheus only leaves measurements out (see sampler.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from kg_exporter.errors import KgExporterError
from kg_exporter.glaciation.inventory import Inventory
from kg_exporter.glaciation.metrics import GlaciationMetrics
from kg_exporter.glaciation.render import SnapshotRenderer
from kg_exporter.glaciation.sampler import Sampler
from kg_exporter.glaciation.snapshot import ClusterState, group_measurements, render_snapshot
from kg_exporter.glaciation.writer import SnapshotWriter

log = logging.getLogger("kg_exporter.glaciation")


class Snapshotter:
    def __init__(
        self,
        inventory: Inventory,
        renderer: SnapshotRenderer,
        sampler: Sampler | None,
        writer: SnapshotWriter,
        metrics: GlaciationMetrics,
        *,
        interval_seconds: float,
        change_delay_seconds: float,
        clock: Callable[[], float] = time.time,
        on_result: Callable[[KgExporterError | None], None] = lambda error: None,
    ) -> None:
        self._inventory = inventory
        self._renderer = renderer
        self._sampler = sampler
        self._writer = writer
        self._metrics = metrics
        self._interval = interval_seconds
        self._delay = change_delay_seconds
        self._clock = clock
        self._on_result = on_result
        self._changed = asyncio.Event()
        self.written = 0

    def changed(self) -> None:
        """The cluster changed: write a snapshot soon rather than at the next tick."""
        self._changed.set()

    async def run(self, synced: Callable[[], bool]) -> None:
        """Snapshot until cancelled, starting once ``synced()`` (the whole cluster is listed)."""
        while not synced():
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), 0.5)
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            self._changed.clear()
            await self.snapshot()
            next_tick = started + self._interval
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), max(0.0, next_tick - loop.time()))
                # Let a burst of changes (a rollout) settle into one snapshot.
                await asyncio.sleep(min(self._delay, max(0.0, next_tick - loop.time())))

    async def snapshot(self) -> bool:
        """Sample, render and write one snapshot; whether it was written."""
        now = self._clock()
        nodes, pods = await self._sampler.sample(now) if self._sampler else ([], [])
        inventory = self._inventory
        ended = list(inventory.ended.values())
        # Facts are replaced, never changed in place, so shallow copies are a consistent view
        # that the watches may go on updating while a thread renders it.
        live = inventory.state
        state = ClusterState(live.cluster_name, dict(live.nodes), dict(live.pods), dict(live.tasks))
        measurements, unknown = group_measurements(state, nodes, pods, round(now * 1000))
        if unknown:
            self._metrics.samples_dropped.labels("unknown_resource").inc(unknown)
        try:
            document = await asyncio.to_thread(
                render_snapshot, self._renderer, state, measurements, ended
            )
            await self._writer.write(document)
        except KgExporterError as exc:
            self._metrics.snapshots.labels("failed").inc()
            log.warning(
                "snapshot not written: %s; the next one follows in %.0f s", exc, self._interval
            )
            self._on_result(exc)
            return False
        inventory.written(ended)
        for kind, table in (("node", state.nodes), ("pod", state.pods), ("task", state.tasks)):
            self._metrics.resources.labels(kind).set(len(table))
        self.written += 1
        self._on_result(None)
        return True


def end_time(when: float) -> str:
    """An end time as Kubernetes writes times (``2024-02-13T13:53:43Z``)."""
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
