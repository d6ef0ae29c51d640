"""The nodes of the cluster: who is a member now, and who joined or left.

Nodes are written when they join and when they leave (their subgraph then says ``present: false``
with the time they left); the glaciation node's member list is rewritten whenever membership
changes. A node found with another uid under the same name (it left and joined again while the
watch was down) counts as joining: its subgraph is rewritten for the node that exists now. Status churn (heartbeats, a Ready flap) only refreshes the projection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from kg_exporter import objects as o
from kg_exporter.errors import RenderError
from kg_exporter.state.projection import encode, project_node


@dataclass(slots=True)
class NodeRecord:
    projection: bytes
    #: uid of the instance the projection describes.
    uid: str | None = None
    present: bool = True
    #: When it left (RFC 3339), once it has.
    left_at: str | None = None


class NodeTable:
    def __init__(self, now: Callable[[], str]) -> None:
        self._now = now
        self._records: dict[str, NodeRecord] = {}

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._records))

    def get(self, name: str) -> NodeRecord | None:
        return self._records.get(name)

    def members(self) -> list[str]:
        """Names of the nodes in the cluster now, sorted."""
        return sorted(name for name, record in self._records.items() if record.present)

    def apply(self, obj: Mapping[str, Any]) -> bool:
        """Record a node's state; True when it joined (new, or back after leaving)."""
        name = o.name_of(obj)
        if name is None:
            raise RenderError("Node without metadata.name")
        record = self._records.get(name)
        projection = encode(project_node(obj))
        uid = o.text(o.metadata(obj).get("uid"))
        if record is None:
            self._records[name] = NodeRecord(projection, uid)
            return True
        # A new uid under the same name left and joined again while we were not looking (a
        # relist, a missed DELETED): the subgraph must describe the node that exists now.
        joined = not record.present or (uid is not None and uid != record.uid)
        record.projection = projection
        record.uid = uid
        record.present = True
        record.left_at = None
        return joined

    def delete(self, name: str, last: Mapping[str, Any] | None = None) -> bool:
        """The node left; True when it was a member."""
        record = self._records.get(name)
        if record is None or not record.present:
            return False
        if last is not None:
            record.projection = encode(project_node(last))
        record.present = False
        record.left_at = self._now()
        return True

    def mark_written(self, name: str, record: NodeRecord, *, present: bool) -> None:
        """A departed node's final subgraph is written: forget it."""
        if self._records.get(name) is record and not present and not record.present:
            del self._records[name]

    def relist(self) -> NodeRelist:
        return NodeRelist(self)

    def replace(self, listing: Iterable[Mapping[str, Any]]) -> tuple[list[str], list[str]]:
        """Apply a complete node listing: (names that joined, names that left)."""
        relist = self.relist()
        for obj in listing:
            relist.add(obj)
        return relist.joined, relist.finish()


class NodeRelist:
    """A node listing applied page by page; ``finish`` marks the unlisted members as left."""

    def __init__(self, table: NodeTable) -> None:
        self._table = table
        self._seen: set[str] = set()
        self.joined: list[str] = []

    def add(self, obj: Mapping[str, Any]) -> bool:
        joined = self._table.apply(obj)
        name = o.name_of(obj) or ""
        self._seen.add(name)
        if joined:
            self.joined.append(name)
        return joined

    def finish(self) -> list[str]:
        """Names of the members that were not listed: they left while the watch was down."""
        return [n for n in self._table if n not in self._seen and self._table.delete(n)]
