"""What the snapshot is made of: the facts of every node, pod and workload, kept current by watches.

The :class:`Inventory` is the watch :class:`~kg_exporter.watch.Handler` of the profile's own
list+watch loops (Nodes, Pods and the workload kinds of ``glaciation.workload_kinds``). It keeps only
facts (see ``project.py``), tells ``on_change`` when what a snapshot would say changed, and
remembers what *ended* — a node or pod deleted, or gone when a relist did not list it again — so the
next snapshot closes its status (``Unknown``, its containers ``terminated``) as the published
exporter does from its look at the previous snapshot; we know it from the watch instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from kg_exporter.glaciation.metrics import GlaciationMetrics
from kg_exporter.glaciation.project import key_of, project
from kg_exporter.glaciation.snapshot import ClusterState
from kg_exporter.watch import EventType, Target

log = logging.getLogger("kg_exporter.glaciation")


class Inventory:
    def __init__(
        self,
        targets: list[Target],
        metrics: GlaciationMetrics,
        *,
        now: Callable[[], str],
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.state = ClusterState()
        self._metrics = metrics
        self._now = now
        self._on_change = on_change
        self._keys: dict[Target, set[str]] = {target: set() for target in targets}
        self._listing: dict[Target, set[str]] = {}
        self._unlisted = set(targets)
        #: Set once every target has been listed (see :attr:`synced`).
        self.listed_all = asyncio.Event()
        #: Ended resources not yet in a written snapshot, by id.
        self.ended: dict[str, dict[str, Any]] = {}

    @property
    def synced(self) -> bool:
        """Every target listed at least once: a snapshot now shows the whole cluster."""
        return not self._unlisted

    # -- Handler ---------------------------------------------------------------------------

    def list_started(self, target: Target) -> None:
        self._listing[target] = set()

    def listed(self, target: Target, obj: Mapping[str, Any]) -> None:
        key = self._apply(target, obj)
        if key is not None:
            self._listing[target].add(key)

    def list_finished(self, target: Target) -> None:
        seen = self._listing.pop(target)
        for key in self._keys[target] - seen:
            self._remove(target, key)
        self._unlisted.discard(target)
        if not self._unlisted:
            self.listed_all.set()

    def event(self, target: Target, event_type: EventType, obj: Mapping[str, Any]) -> None:
        if event_type is EventType.DELETED:
            key = key_of(target.kind, obj)
            if key is not None and key in self._keys[target]:
                self._remove(target, key)
        else:
            self._apply(target, obj)

    # -- snapshots -------------------------------------------------------------------------

    def written(self, ended: list[dict[str, Any]]) -> None:
        """A snapshot holding ``ended`` was written: they need not be said again."""
        for entry in ended:
            if self.ended.get(entry["id"]) is entry:
                del self.ended[entry["id"]]

    def close_missing(self, previous: Mapping[str, str], end: str) -> int:
        """End what an earlier run's snapshot showed live (id → description) and the cluster no
        longer has: it ended while nobody watched. How many were ended."""
        present = set(self.state.nodes)
        for pod in self.state.pods.values():
            present.add(pod["id"])
            present.update(c["id"] for c in pod["containers"])
        states = {"KubernetesWorkerNode": "Unknown", "Pod": "Unknown", "Container": "terminated"}
        count = 0
        for rid, description in previous.items():
            if rid not in present and rid not in self.ended and description in states:
                self._end(rid, description, states[description], end)
                count += 1
        if count:
            self._on_change()
        return count

    # -- internals -------------------------------------------------------------------------

    def _table(self, kind: str) -> dict[str, dict[str, Any]]:
        if kind == "Node":
            return self.state.nodes
        return self.state.pods if kind == "Pod" else self.state.tasks

    def _apply(self, target: Target, obj: Mapping[str, Any]) -> str | None:
        projected = project(target.kind, obj)
        if projected is None:
            self._metrics.skipped_objects.labels(target.kind).inc()
            log.warning("leaving a %s out of the snapshot: its name cannot be an id", target.kind)
            return None
        key, facts = projected
        table = self._table(target.kind)
        self._keys[target].add(key)
        if table.get(key) != facts:
            table[key] = facts
            self._revived(facts)
            self._on_change()
        return key

    def _revived(self, facts: dict[str, Any]) -> None:
        self.ended.pop(facts["id"], None)
        for container in facts.get("containers", ()):
            self.ended.pop(container["id"], None)

    def _remove(self, target: Target, key: str) -> None:
        self._keys[target].discard(key)
        facts = self._table(target.kind).pop(key, None)
        if facts is None:
            return
        end = self._now()
        if target.kind == "Node":
            self._end(facts["id"], "KubernetesWorkerNode", "Unknown", end)
        elif target.kind == "Pod":
            self._end(facts["id"], "Pod", "Unknown", end)
            for container in facts["containers"]:
                self._end(container["id"], "Container", "terminated", end)
        self._on_change()

    def _end(self, rid: str, description: str, state: str, end: str) -> None:
        self.ended[rid] = {"id": rid, "description": description, "state": state, "end": end}
