"""``--prune``: workloads and nodes the sink holds as running that no longer exist become stopped.

It is the daemon's start-up reconciliation done once: the ids stored under the backfill's scope
that no listed object maps to are read back, and each one whose status says running is rewritten
by :func:`kg_exporter.state.documents.mark_stopped` (status stopped, end time now, a node no
longer ready). Nothing else in the document changes: there is no object left to render it from.

Pruning is refused when some input could not be read: the objects in it may well exist, and
marking them stopped would be wrong. (An object that could not be rendered or written still has
its id, so it is never pruned.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from kg_exporter.backfill.outcome import write
from kg_exporter.backfill.report import Report
from kg_exporter.backfill.sources import Inventory
from kg_exporter.errors import SinkError, SinkUnavailable
from kg_exporter.identity import (
    SubgraphKind,
    encode_segment,
    node_subgraph_id,
    workload_subgraph_id,
)
from kg_exporter.kinds import NODE_KIND
from kg_exporter.render.renderer import Renderer
from kg_exporter.sink import Sink
from kg_exporter.state.documents import mark_stopped


def existing_ids(inventory: Inventory, cluster: str) -> set[str]:
    """The workload and node subgraph ids of the objects that exist now."""
    return {
        node_subgraph_id(cluster, key.name)
        if key.kind == NODE_KIND
        else workload_subgraph_id(cluster, key)
        for key in inventory.keys
    }


def default_scope(cluster: str) -> list[tuple[str, SubgraphKind]]:
    """Every workload and node of ``cluster``: what a manifest backfill describes."""
    return [
        (f"{encode_segment(cluster)}:{kind.value}:", kind)
        for kind in (SubgraphKind.WORKLOAD, SubgraphKind.NODE)
    ]


async def prune(
    inventory: Inventory,
    renderer: Renderer,
    sink: Sink,
    report: Report,
    *,
    concurrency: int,
    now: Callable[[], str],
) -> None:
    if inventory.errors:
        report.prune_skipped = (
            f"{len(inventory.errors)} input(s) could not be read; the objects in them may "
            "still exist"
        )
        return
    cluster = renderer.settings.cluster_id
    existing = existing_ids(inventory, cluster)
    scope = inventory.scope if inventory.scope is not None else default_scope(cluster)
    stale: list[tuple[str, SubgraphKind]] = []
    try:
        for prefix, kind in scope:
            stale.extend((i, kind) for i in await sink.list(prefix) if i not in existing)
    except SinkError as exc:
        report.prune_skipped = f"cannot list what the sink holds: {exc}"
        return
    ended_at = now()
    limit = asyncio.Semaphore(concurrency)

    async def stop(subgraph_id: str, kind: SubgraphKind) -> None:
        async with limit:
            if report.aborted is not None:
                return
            try:
                document = await sink.get(subgraph_id)
                stopped = mark_stopped(document, ended_at) if document is not None else None
                if stopped is None:
                    return  # already stopped (or never said running): nothing to do
                await write(sink, subgraph_id, stopped)
            except SinkUnavailable as exc:
                report.aborted = f"the sink became unreachable: {exc}"
                report.fail(subgraph_id, f"cannot mark stopped: {exc}", kind)
            except SinkError as exc:
                report.fail(subgraph_id, f"cannot mark stopped: {exc}", kind)
            else:
                report.pruned.append(subgraph_id)

    await asyncio.gather(*(stop(subgraph_id, kind) for subgraph_id, kind in stale))
    report.pruned.sort()
