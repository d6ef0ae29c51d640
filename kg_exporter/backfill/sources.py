"""What a backfill exports: every object that exists now, from manifests or from a cluster.

Cluster listing is the daemon's own (:func:`kg_exporter.watch.cycle.relist` over
:func:`kg_exporter.watch.targets_for`): the same kinds, namespaces, label selector and paging, so
a backfill and the daemon always agree on what exists. Objects of kinds that are not exported
(ConfigMaps in a manifest directory) are counted, not rendered.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kg_exporter.identity import SubgraphKind
from kg_exporter.kinds import NODE_KIND, WORKLOAD_KINDS
from kg_exporter.manifests import Manifest, read_manifests
from kg_exporter.settings import Settings

if TYPE_CHECKING:  # kubernetes_asyncio is slow to import: only cluster backfills load it
    from kg_exporter.watch import EventType, Target

EXPORTED_KINDS = frozenset({*WORKLOAD_KINDS, NODE_KIND})


@dataclass
class Inventory:
    """The objects to export (each with where it came from), and what could not be read."""

    objects: list[tuple[Mapping[str, Any], str]] = field(default_factory=list)
    #: Objects of kinds that are not exported, by kind.
    ignored: Counter[str] = field(default_factory=Counter)
    #: Input that could not be read, one message each (file and line).
    errors: list[str] = field(default_factory=list)
    #: Where the objects came from, for the summary.
    origin: str = ""
    #: Id prefixes (and the kind stored under each) whose every subgraph should have an object
    #: here: what ``--prune`` may mark stopped. None: every workload and node of the cluster.
    scope: list[tuple[str, SubgraphKind]] | None = None

    def add(self, obj: Mapping[str, Any], where: str) -> None:
        kind = obj.get("kind")
        if isinstance(kind, str) and kind in EXPORTED_KINDS:
            self.objects.append((obj, where))
        else:
            self.ignored[kind if isinstance(kind, str) else "<no kind>"] += 1


def from_manifests(paths: Iterable[Path]) -> Inventory:
    """Every object in the manifest files and directories ``paths``."""
    paths = list(paths)
    inventory = Inventory(origin=", ".join(str(p) for p in paths))
    for item in read_manifests(paths):
        if isinstance(item, Manifest):
            inventory.add(item.obj, item.where)
        else:
            inventory.errors.append(str(item))
    return inventory


async def from_cluster(settings: Settings, *, kubeconfig: Path | None = None) -> Inventory:
    """Every watched object in the cluster, listed as the daemon lists it.

    Raises :class:`~kg_exporter.errors.WatchError` when the credentials cannot be loaded or the
    API refuses a listing, and the transport's own errors (aiohttp, timeouts) when it cannot be
    reached; the caller reports those as connection errors.
    """
    from kg_exporter.runtime.reconcile import stored_prefixes
    from kg_exporter.watch import open_api_client, targets_for
    from kg_exporter.watch.cycle import Cursor, relist

    targets = targets_for(settings)
    inventory = Inventory(
        origin="the cluster" if kubeconfig is None else f"the cluster of {kubeconfig}",
        # Only what was listed: workloads outside the watched namespaces are not ours to prune.
        scope=stored_prefixes(settings.cluster_id, targets),
    )
    collector = _Collector(inventory)
    api = await open_api_client(kubeconfig, pool_size=4)
    try:
        for target in targets:
            await relist(api, target, collector, Cursor(), page_size=settings.daemon.list_page_size)
    finally:
        await api.close()
    return inventory


class _Collector:
    """A :class:`~kg_exporter.watch.Handler` that keeps what a listing yields."""

    def __init__(self, inventory: Inventory) -> None:
        self._inventory = inventory

    def list_started(self, target: Target) -> None:
        return None

    def listed(self, target: Target, obj: Mapping[str, Any]) -> None:
        meta = obj.get("metadata")
        name = meta.get("name") if isinstance(meta, Mapping) else None
        namespace = meta.get("namespace") if isinstance(meta, Mapping) else None
        where = f"{target.kind} {namespace}/{name}" if namespace else f"{target.kind} {name}"
        self._inventory.add(obj, where)

    def list_finished(self, target: Target) -> None:
        return None

    def event(self, target: Target, event_type: EventType, obj: Mapping[str, Any]) -> None:
        return None  # a backfill lists; it never watches
