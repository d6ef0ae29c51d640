"""Start-up reconciliation: what the Metadata Service shows that the cluster no longer has.

Once every initial listing is processed, the ids stored under the watched prefixes
(``<cluster>:workload:<kind>:[<namespace>:]`` and ``<cluster>:node:``) are compared with the keys
the daemon tracks. Each stored id with no object behind it — deleted while the daemon was down —
is queued as an :class:`~kg_exporter.runtime.keys.Orphan`; its worker reads the stored status and,
if it says running, writes it as stopped (nodes: left). Listing is retried until it succeeds.

The workloads of the initial listing (and any first seen before this runs) are queued here, not as
they are listed: the same ids tell which of them the service has never seen; the others are read
back first, whether or not their object has started, because the stored subgraph may describe
another instance under the same name (see :mod:`~kg_exporter.state.readback`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

from kg_exporter.errors import SinkError
from kg_exporter.identity import (
    SubgraphKind,
    encode_segment,
    node_subgraph_id,
    workload_subgraph_id,
)
from kg_exporter.kinds import NODE_KIND
from kg_exporter.queue import Backoff, WorkQueue
from kg_exporter.runtime.health import Health
from kg_exporter.runtime.keys import Orphan, WorkKey
from kg_exporter.sink import Sink
from kg_exporter.state.nodes import NodeTable
from kg_exporter.state.workloads import Scope, WorkloadTable
from kg_exporter.watch import Target

log = logging.getLogger("kg_exporter.runtime")


def stored_prefixes(cluster: str, targets: Iterable[Target]) -> list[tuple[str, SubgraphKind]]:
    """The id prefixes this daemon is responsible for, one per watch target."""
    out = []
    for target in targets:
        if target.kind == NODE_KIND:
            out.append((f"{encode_segment(cluster)}:{SubgraphKind.NODE.value}:", SubgraphKind.NODE))
            continue
        prefix = f"{encode_segment(cluster)}:{SubgraphKind.WORKLOAD.value}:"
        prefix += encode_segment(target.kind.lower()) + ":"
        if target.namespace is not None:
            prefix += encode_segment(target.namespace) + ":"
        out.append((prefix, SubgraphKind.WORKLOAD))
    return out


def tracked_ids(cluster: str, workloads: WorkloadTable, nodes: NodeTable) -> set[str]:
    # Folded children (a JobSet's Jobs) are not written on their own: a stored id of one is stale.
    ids = {workload_subgraph_id(cluster, key) for key in workloads.exported()}
    ids.update(node_subgraph_id(cluster, name) for name in nodes)
    return ids


async def reconcile(
    sink: Sink,
    queue: WorkQueue[WorkKey],
    workloads: WorkloadTable,
    nodes: NodeTable,
    health: Health,
    *,
    cluster: str,
    targets: Iterable[Target],
    backoff: Backoff,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> tuple[int, int]:
    """Queue an :class:`Orphan` for every stored id without an object, and the workloads found at
    start-up that need a write; (orphans, workloads) queued.

    A workload found at start-up whose id is not stored is known to be unwritten (no read-back
    needed); the others are read back by their worker before anything is written. Afterwards
    the table treats keys it first sees as new to the graph.
    """
    targets = list(targets)
    # Only these targets' workloads: another scope's first listing may still be unreconciled.
    scopes = [Scope(t.kind, t.namespace) for t in targets if t.kind != NODE_KIND]
    stored: dict[str, SubgraphKind] = {}
    for prefix, kind in stored_prefixes(cluster, targets):
        for subgraph_id in await _list(sink, prefix, health, backoff, sleep):
            stored[subgraph_id] = kind
    tracked = tracked_ids(cluster, workloads, nodes)
    orphans = [Orphan(i, kind) for i, kind in stored.items() if i not in tracked]
    for orphan in orphans:
        queue.add(orphan)
    found = 0
    for key in workloads:
        record = workloads.get(key)
        if record is None or record.written_known or not any(key in s for s in scopes):
            continue
        if workload_subgraph_id(cluster, key) in stored:
            # Read back by its worker, even when the object has not started: the graph may hold
            # another instance under this name, one that no longer exists.
            queue.add(key)
            found += 1
            continue
        workloads.learn_absent(key, record)
        if record.needs_write:
            queue.add(key)
            found += 1
    # From now on a key first seen is known to be new to the graph (an orphan whose object
    # appears again hands its stored id over to the key, see runtime/writer.py).
    workloads.reconciled = True
    log.info(
        "reconciled with the Metadata Service: %d subgraphs stored, %d of them without an "
        "object (queued to be stopped); %d workloads found at start-up queued",
        len(stored),
        len(orphans),
        found,
    )
    return len(orphans), found


async def _list(
    sink: Sink,
    prefix: str,
    health: Health,
    backoff: Backoff,
    sleep: Callable[[float], Awaitable[None]],
) -> list[str]:
    failures = 0
    while True:
        try:
            ids = await sink.list(prefix)
        except SinkError as exc:
            health.sink_raised(exc)
            failures += 1
            delay = backoff.delay(failures)
            log.warning(
                "cannot list %s* for reconciliation: %s; will retry in %.1f s", prefix, exc, delay
            )
            await sleep(delay)
        else:
            health.sink_succeeded()
            return ids
