"""What to list and watch: one :class:`Target` per kind and namespace, derived from the kind
registry (:class:`~kg_exporter.kinds.KindRegistry`), so configuring a workload kind adds its watch."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from kg_exporter.kinds import NODE_KIND, registry_for
from kg_exporter.settings import Settings
from kg_exporter.watch.entry import KindEntry


class EventType(StrEnum):
    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"


@dataclass(frozen=True, slots=True)
class Target:
    kind: str
    group: str
    version: str
    plural: str
    #: None: all namespaces (or a cluster-scoped kind).
    namespace: str | None = None
    label_selector: str | None = None

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def collection_path(self) -> str:
        prefix = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespace is None:
            return f"{prefix}/{self.plural}"
        return f"{prefix}/namespaces/{self.namespace}/{self.plural}"

    def __str__(self) -> str:
        where = f" in {self.namespace}" if self.namespace is not None else ""
        selected = f" ({self.label_selector})" if self.label_selector else ""
        return f"{self.plural}{where}{selected}"


NODE_TARGET = Target(NODE_KIND, "", "v1", "nodes")


def targets_of(
    entry: KindEntry, version: str, settings: Settings, *, namespaced: bool | None = None
) -> list[Target]:
    """What to watch of one kind at ``version``: one target per configured namespace (or one for
    all), or one for a cluster-scoped kind (``namespaced``: what discovery says, else the entry).
    The label selector applies to workloads only."""
    scoped = entry.namespaced if namespaced is None else namespaced
    namespaces: tuple[str | None, ...] = (settings.namespaces or (None,)) if scoped else (None,)
    return [
        Target(entry.kind, entry.group, version, entry.plural, ns, settings.label_selector)
        for ns in namespaces
    ]


def targets_for(settings: Settings, kinds: Iterable[KindEntry] | None = None) -> list[Target]:
    """Every configured kind at its preferred version, then Nodes (the glaciation node lists every
    node of the cluster). The daemon resolves versions through discovery before watching.
    ``kinds``: the entries in force (default: those ``settings`` configure)."""
    entries = registry_for(settings).specs() if kinds is None else kinds
    targets = [t for entry in entries for t in targets_of(entry, entry.versions[0], settings)]
    targets.append(NODE_TARGET)
    return targets


class Handler(Protocol):
    """Receives what one list+watch sees, synchronously and in order.

    A listing is ``list_started``, ``listed`` per object (page by page, never the whole list in
    memory), then ``list_finished``. Objects are raw API JSON with their ``kind`` set (list items
    come without it).
    """

    def list_started(self, target: Target) -> None: ...

    def listed(self, target: Target, obj: Mapping[str, Any]) -> None: ...

    def list_finished(self, target: Target) -> None: ...

    def event(self, target: Target, event_type: EventType, obj: Mapping[str, Any]) -> None: ...


def iter_kinds(targets: list[Target]) -> Iterator[str]:
    seen: set[str] = set()
    for target in targets:
        if target.kind not in seen:
            seen.add(target.kind)
            yield target.kind
