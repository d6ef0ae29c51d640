"""What to list and watch: one :class:`Target` per kind and namespace, derived from the kind
registry (:class:`~kg_exporter.kinds.KindRegistry`), so configuring a workload kind adds its watch."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from kg_exporter.kinds import NODE_KIND, KindRegistry, registry_for
from kg_exporter.settings import Settings


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


def targets_for(settings: Settings, kinds: KindRegistry | None = None) -> list[Target]:
    """Every workload kind in each configured namespace (or all; cluster-scoped kinds once), then
    Nodes. The label selector applies to workloads only: the glaciation node lists every node of
    the cluster. ``kinds``: the registry in force (default: the one ``settings`` configure)."""
    kinds = kinds if kinds is not None else registry_for(settings)
    namespaces: tuple[str | None, ...] = settings.namespaces or (None,)
    targets = [
        Target(spec.kind, spec.group, spec.version, spec.plural, ns, settings.label_selector)
        for spec in kinds.specs()
        for ns in (namespaces if spec.namespaced else (None,))
    ]
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
