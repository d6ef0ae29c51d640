"""The backfill itself: render every object, write every subgraph with bounded concurrency, then
optionally prune.

Reading, rendering (CPU) and writing (I/O) overlap: one producer reads and renders on the event
loop thread, object by object, and feeds a bounded queue that ``concurrency`` writers drain, so at most ``4 * concurrency`` rendered
documents are ever waiting and memory stays flat however many objects there are.

A subgraph the sink refuses (a 4xx) is a failure listed with the sink's reason; the run goes on.
A sink that cannot be reached after its retries aborts the run: every further write would wait
out the same retries to fail the same way.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from kg_exporter.backfill.outcome import writer_for
from kg_exporter.backfill.progress import Progress
from kg_exporter.backfill.prune import prune
from kg_exporter.backfill.report import INPUT, Report
from kg_exporter.backfill.sources import Inventory
from kg_exporter.errors import SinkError, SinkUnavailable
from kg_exporter.identity import SubgraphKind, glaciation_node_subgraph_id
from kg_exporter.kinds import NODE_KIND
from kg_exporter.render.batch import Skipped, render_objects
from kg_exporter.render.renderer import Renderer, Subgraph
from kg_exporter.sink import Sink

#: Subgraphs each exported object yields (the object's and its telemetry's).
PER_OBJECT = 2


def utc_now() -> str:
    """Now as the daemon records times: UTC, milliseconds, ``Z``."""
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


async def backfill(
    inventory: Inventory,
    renderer: Renderer,
    sink: Sink,
    *,
    concurrency: int = 16,
    prune_stale: bool = False,
    progress: Progress | None = None,
    now: Callable[[], str] = utc_now,
    monotonic: Callable[[], float] = time.monotonic,
) -> Report:
    """Write every subgraph of ``inventory`` (plus the glaciation node) into ``sink``.

    With ``prune_stale``, workloads and nodes the sink holds as running under the inventory's
    prefixes but that are not in the inventory are then written as stopped at ``now()``.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    started = monotonic()
    report = Report()
    settings = renderer.settings
    try:
        # One cheap read first: a sink that is down, or refuses our token, fails here once
        # instead of once per subgraph.
        await sink.get(
            glaciation_node_subgraph_id(settings.cluster_id, settings.glaciation_node_id)
        )
    except SinkError as exc:
        report.aborted = f"cannot use the sink: {exc}"
        return report
    try:
        await _write_all(inventory, renderer, sink, report, concurrency, progress)
    finally:
        report.ignored.update(inventory.ignored)
        for error in inventory.errors:
            report.fail(INPUT, error)
    if prune_stale and report.aborted is None:
        await prune(inventory, renderer, sink, report, concurrency=concurrency, now=now)
    report.seconds = monotonic() - started
    return report


async def _write_all(
    inventory: Inventory,
    renderer: Renderer,
    sink: Sink,
    report: Report,
    concurrency: int,
    progress: Progress | None,
) -> None:
    queue: asyncio.Queue[Subgraph | None] = asyncio.Queue(maxsize=4 * concurrency)
    done = 0
    write = writer_for(sink)

    async def writer() -> None:
        nonlocal done
        while (subgraph := await queue.get()) is not None:
            if report.aborted is not None:
                report.not_sent += 1
                continue
            try:
                outcome = await write(subgraph.id, subgraph.document)
            except SinkUnavailable as exc:
                if report.aborted is None:
                    report.aborted = f"the sink became unreachable: {exc}"
                report.fail(subgraph.id, str(exc), subgraph.kind)
            except SinkError as exc:
                report.fail(subgraph.id, str(exc), subgraph.kind)
            else:
                report.count(subgraph.kind, outcome)
            done += 1
            if progress is not None:
                progress.advance(done, report)

    if progress is not None:
        known = inventory.size
        progress.start(PER_OBJECT * known + PER_OBJECT if known is not None else None)
    writers = [asyncio.create_task(writer()) for _ in range(concurrency)]

    def read_all() -> None:
        # The renderer has taken the last object: now the total is known.
        if progress is not None and inventory.size is None:
            progress.set_total(PER_OBJECT * inventory.count + PER_OBJECT)

    tracked = _Tracked(inventory.objects(), on_end=read_all)
    try:
        for result in render_objects(tracked, renderer):
            if report.aborted is not None:
                break
            if isinstance(result, Skipped):
                _render_failed(report, tracked.current, result)
                continue
            # Yields only when the queue is full: the writers then find many responses ready
            # per event-loop turn (yielding after every render costs ~10% more CPU, measured).
            await queue.put(result)
    except BaseException:
        # Interrupted (Ctrl-C cancels the run, or rendering raised): stop now rather than
        # finish the writes already queued.
        for task in writers:
            task.cancel()
        await asyncio.gather(*writers, return_exceptions=True)
        raise
    else:
        for _ in writers:
            await queue.put(None)
        await asyncio.gather(*writers)
    finally:
        if progress is not None:
            progress.stop()


class _Tracked:
    """The inventory's objects, remembering which one the renderer took last: a
    :class:`Skipped` is about that object, and its kind says which subgraphs were not written."""

    def __init__(
        self, objects: Iterator[tuple[Mapping[str, Any], str]], *, on_end: Callable[[], None]
    ) -> None:
        self._objects = objects
        self._on_end = on_end
        self.current: Mapping[str, Any] = {}

    def __iter__(self) -> Iterator[tuple[Mapping[str, Any], str]]:
        for obj, where in self._objects:
            self.current = obj
            yield obj, where
        self._on_end()


def _render_failed(report: Report, obj: Mapping[str, Any], skipped: Skipped) -> None:
    if obj.get("kind") == NODE_KIND:
        kinds = (SubgraphKind.NODE, SubgraphKind.NODE_TELEMETRY)
    else:
        kinds = (SubgraphKind.WORKLOAD, SubgraphKind.WORKLOAD_TELEMETRY)
    report.fail(skipped.where or "input", f"cannot render: {skipped.reason}")
    for kind in kinds:
        report.failed[kind] += 1
