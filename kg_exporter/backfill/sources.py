"""What a backfill exports: every object that exists now, from manifests or from a cluster.

Cluster listing is the daemon's own (API discovery, then :func:`kg_exporter.watch.cycle.relist`
over each served kind's targets): the same kinds, versions, namespaces, label selector and paging,
so a backfill and the daemon always agree on what exists; a configured kind the cluster does not
serve (its CRD is not installed) is a note, not an error. Objects of kinds that are not exported
(ConfigMaps in a manifest directory) are counted, not rendered. Manifests are read as they are
rendered, so reading a large directory overlaps with writing it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kg_exporter import objects as o
from kg_exporter.errors import ManifestError, RenderError
from kg_exporter.identity import ObjectKey, SubgraphKind
from kg_exporter.kinds import (
    NODE_KIND,
    KindRegistry,
    bundled_registry,
    is_folded,
    object_key,
    registry_for,
)
from kg_exporter.manifests import Manifest, read_manifests
from kg_exporter.settings import Settings

if TYPE_CHECKING:  # kubernetes_asyncio is slow to import: only cluster backfills load it
    from kg_exporter.watch import EventType, Target

#: One input item: an object and where it came from, or why some input could not be read.
Item = tuple[Mapping[str, Any], str] | ManifestError


@dataclass
class Inventory:
    """The objects to export, read as the backfill consumes them — a manifest directory is never
    all in memory, and reading overlaps writing — and what reading them found."""

    items: Iterable[Item]
    #: Where the objects came from, for the summary.
    origin: str = ""
    #: Id prefixes (and the kind stored under each) whose every subgraph should have an object
    #: here: what ``--prune`` may mark stopped. None: every workload and node of the cluster.
    scope: list[tuple[str, SubgraphKind]] | None = None
    #: How many objects will be exported, when known before reading (a cluster listing).
    size: int | None = None
    #: The workload kinds in force (the renderer's).
    kinds: KindRegistry = field(default_factory=bundled_registry)

    # What reading found, filled in by objects() as it goes:
    #: exported objects read so far, and the identities of those that have one, in order;
    count: int = 0
    #: objects read only as part of their owner's workload (not counted above);
    folded: int = 0
    keys: list[ObjectKey] = field(default_factory=list)
    #: objects of kinds that are not exported, by kind;
    ignored: Counter[str] = field(default_factory=Counter)
    #: input that could not be read, one message each (file and line);
    errors: list[str] = field(default_factory=list)
    #: what the reader wants the user to know that is not an error (kinds not served);
    notes: list[str] = field(default_factory=list)
    #: whether every item has been read.
    complete: bool = False

    def objects(self) -> Iterator[tuple[Mapping[str, Any], str]]:
        """The objects of exported kinds, each with where it came from; once."""
        for item in self.items:
            if isinstance(item, ManifestError):
                self.errors.append(str(item))
                continue
            obj, where = item
            kind = obj.get("kind")
            if not isinstance(kind, str) or (kind not in self.kinds and kind != NODE_KIND):
                self.ignored[kind if isinstance(kind, str) else "<no kind>"] += 1
                continue
            if is_folded(obj, self.kinds):
                # Part of its owner's workload (a JobSet's Jobs): read, for the owner's sake, but
                # not exported on its own.
                self.folded += 1
                yield obj, where
                continue
            self.count += 1
            key = _key(obj, self.kinds)
            if key is not None:
                self.keys.append(key)
            yield obj, where
        self.complete = True


def _key(obj: Mapping[str, Any], kinds: KindRegistry) -> ObjectKey | None:
    if obj.get("kind") == NODE_KIND:
        name = o.name_of(obj)
        return ObjectKey(NODE_KIND, None, name) if name is not None else None
    try:
        return object_key(obj, kinds)
    except RenderError:
        return None  # no identity: it can only fail to render, which is reported then


def from_manifests(paths: Iterable[Path], *, kinds: KindRegistry | None = None) -> Inventory:
    """Every object in the manifest files and directories ``paths``, read lazily; ``kinds``: the
    workload kinds in force (default: the bundled ones)."""
    paths = list(paths)

    def items() -> Iterator[Item]:
        for item in read_manifests(paths):
            yield (item.obj, item.where) if isinstance(item, Manifest) else item

    return Inventory(
        items(),
        origin=", ".join(str(p) for p in paths),
        kinds=kinds if kinds is not None else bundled_registry(),
    )


async def from_cluster(
    settings: Settings, *, kubeconfig: Path | None = None, kinds: KindRegistry | None = None
) -> Inventory:
    """Every watched object in the cluster, listed as the daemon lists it.

    Raises :class:`~kg_exporter.errors.WatchError` when the credentials cannot be loaded or the
    API refuses a listing, and the transport's own errors (aiohttp, timeouts) when it cannot be
    reached; the caller reports those as connection errors.
    """
    from kg_exporter.runtime.reconcile import stored_prefixes
    from kg_exporter.watch import NODE_TARGET, open_api_client
    from kg_exporter.watch.cycle import Cursor, relist
    from kg_exporter.watch.discovery import Discovery
    from kg_exporter.watch.entry import qualified
    from kg_exporter.watch.targets import targets_of

    registry = kinds if kinds is not None else registry_for(settings)
    listed: list[Item] = []
    collector = _Collector(listed)
    notes: list[str] = []
    # Prune scope: what was listed, and the kinds not served (none of their objects exist).
    scope_targets = [NODE_TARGET]
    api = await open_api_client(kubeconfig, pool_size=4)
    try:
        entries = registry.specs()
        resolved = await Discovery(api).resolve(entries)
        for entry in entries:
            served = resolved[entry.kind]
            version = served.version if served is not None else entry.versions[0]
            targets = targets_of(entry, version, settings)
            scope_targets.extend(targets)
            if served is None:
                notes.append(
                    f"{entry.kind} ({qualified(entry)}, versions {', '.join(entry.versions)}) "
                    "is not served by this cluster: none exported"
                )
                continue
            for target in targets:
                await relist(
                    api, target, collector, Cursor(), page_size=settings.daemon.list_page_size
                )
        await relist(
            api, NODE_TARGET, collector, Cursor(), page_size=settings.daemon.list_page_size
        )
    finally:
        await api.close()
    return Inventory(
        listed,
        origin="the cluster" if kubeconfig is None else f"the cluster of {kubeconfig}",
        # Only what was listed: workloads outside the watched namespaces are not ours to prune.
        scope=stored_prefixes(settings.cluster_id, scope_targets),
        size=sum(1 for i in listed if not isinstance(i, ManifestError) and not is_folded(i[0], registry)),
        notes=notes,
        kinds=registry,
    )


class _Collector:
    """A :class:`~kg_exporter.watch.Handler` that keeps what a listing yields."""

    def __init__(self, listed: list[Item]) -> None:
        self._listed = listed

    def list_started(self, target: Target) -> None:
        return None

    def listed(self, target: Target, obj: Mapping[str, Any]) -> None:
        meta = obj.get("metadata")
        name = meta.get("name") if isinstance(meta, Mapping) else None
        namespace = meta.get("namespace") if isinstance(meta, Mapping) else None
        where = f"{target.kind} {namespace}/{name}" if namespace else f"{target.kind} {name}"
        self._listed.append((obj, where))

    def list_finished(self, target: Target) -> None:
        return None

    def event(self, target: Target, event_type: EventType, obj: Mapping[str, Any]) -> None:
        return None  # a backfill lists; it never watches
