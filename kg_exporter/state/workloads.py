"""The latest minimal state of every tracked workload, and which of them need a write.

One :class:`WorkloadRecord` per object key: the compact projection of the object (see
:mod:`~kg_exporter.state.projection`), the lifecycle the graph should hold (``graph``) and the one we
last wrote (``written``). A change of ``graph`` is returned as a :class:`Change`, which the caller
turns into a queued key; everything else (a replica restarting, a label edit) only refreshes the
projection, so the next write carries it.

A deleted object stays as a tombstone until its stop is written, then is forgotten: memory follows
the objects that exist. A relist (:meth:`WorkloadTable.relist`) yields the keys that vanished while
the watch was down, and stops them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from kg_exporter import objects as o
from kg_exporter.identity import ObjectKey
from kg_exporter.kinds import WORKLOAD_KINDS
from kg_exporter.render.facts import Lifecycle
from kg_exporter.render.renderer import workload_key
from kg_exporter.state.lifecycle import Observation
from kg_exporter.state.projection import encode, project_workload
from kg_exporter.state.readback import ReadBack
from kg_exporter.state.transitions import advance, deleted, is_tentative


@dataclass(slots=True)
class WorkloadRecord:
    #: uid of the instance the projection and ``graph`` describe.
    uid: str | None
    projection: bytes
    #: What the graph should say; None: never seen to start, nothing to write.
    graph: Lifecycle | None
    #: What we last wrote (or found already written); meaningful only when ``written_known``.
    written: Lifecycle | None
    #: False for objects found at start-up: the Metadata Service may already hold them.
    written_known: bool
    #: False once the object is deleted: a tombstone kept until its stop is written.
    exists: bool = True
    #: A previous instance under the same name, ended, whose stop must reach the graph before
    #: this instance's document replaces it (see :meth:`WorkloadTable.apply`).
    ended: Ended | None = None
    #: The uid ``written`` was written for: a new instance with the very same lifecycle (a Job
    #: re-run with the same times) still has its own document to write.
    written_uid: str | None = None

    @property
    def needs_write(self) -> bool:
        if self.ended is not None:
            return True
        if self.graph is None:
            return False
        return not self.written_known or self.written != self.graph or self.written_uid != self.uid

    @property
    def disposable(self) -> bool:
        """A tombstone with nothing left to do: its stop written, and nothing to read back."""
        return not self.exists and self.written_known and not self.needs_write


@dataclass(frozen=True, slots=True)
class Ended:
    """An instance that no longer exists: its projection and the stop the graph should record."""

    projection: bytes
    lifecycle: Lifecycle
    uid: str | None


@dataclass(frozen=True, slots=True)
class Change:
    """The graph lifecycle of ``key`` changed from ``before`` to ``after``."""

    key: ObjectKey
    before: Lifecycle | None
    after: Lifecycle | None


@dataclass(frozen=True, slots=True)
class Scope:
    """What one list+watch covers: a kind, in one namespace or all (None)."""

    kind: str
    namespace: str | None = None

    def __contains__(self, key: object) -> bool:
        return (
            isinstance(key, ObjectKey)
            and key.kind == self.kind
            and (self.namespace is None or key.namespace == self.namespace)
        )


class WorkloadTable:
    """Records by key. ``now`` gives the current time as RFC 3339 (the injected clock)."""

    def __init__(self, now: Callable[[], str], *, reconciled: bool = True) -> None:
        self._now = now
        self._records: dict[ObjectKey, WorkloadRecord] = {}
        #: False until the start-up reconciliation has read which ids the graph holds: until
        #: then no new key can be assumed absent from the graph (see :meth:`reconciled_now`).
        self.reconciled = reconciled

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[ObjectKey]:
        return iter(list(self._records))

    def get(self, key: ObjectKey) -> WorkloadRecord | None:
        return self._records.get(key)

    def apply(self, obj: Mapping[str, Any], *, seen_live: bool = True) -> Change | None:
        """Record the object's current state (ADDED, MODIFIED, or listed). ``obj`` must carry its
        ``kind``. ``seen_live`` is False while the daemon's first listing is processed."""
        key = workload_key(obj)
        projection = project_workload(obj)
        observed = WORKLOAD_KINDS[key.kind].observe(projection)
        uid = o.text(o.metadata(obj).get("uid"))
        now = self._now()
        record = self._records.get(key)
        if record is None:
            graph = advance(None, observed, now, kind=key.kind, seen_live=seen_live)
            known = seen_live and self.reconciled
            self._records[key] = WorkloadRecord(uid, encode(projection), graph, None, known)
            return Change(key, None, graph) if graph is not None else None
        before, uid_before = record.graph, record.uid
        if not record.exists or (uid is not None and uid != record.uid):
            graph = self._recreated(
                record, key.kind, observed, encode(projection), uid, now, seen_live
            )
        else:
            graph = advance(before, observed, now, kind=key.kind, seen_live=seen_live)
            record.projection = encode(projection)
            record.uid = uid
        record.exists = True
        record.graph = graph
        if graph != before or (record.uid != uid_before and record.needs_write):
            return Change(key, before, graph)
        return None

    def _recreated(
        self,
        record: WorkloadRecord,
        kind: str,
        observed: Observation,
        projection: bytes,
        uid: str | None,
        now: str,
        seen_live: bool,
    ) -> Lifecycle | None:
        """Deleted and created again while we were not looking (a relist, a missed DELETED, or
        an ADDED over a tombstone): the old instance ended, and the new one is judged on its own
        — a Job that ran again says its own outcome, not the old run's."""
        old = deleted(record.graph, now) if record.exists else record.graph
        graph = advance(None, observed, now, kind=kind, seen_live=seen_live)
        if graph is None and old is not None:
            # Not started: the graph should record the old instance's stop, rendered from the
            # old projection (the new one must not relabel it).
            return old
        if old is not None and not is_tentative(old) and not self._holds(record, old):
            record.ended = Ended(record.projection, old, record.uid)
        record.projection = projection
        record.uid = uid
        return graph

    @staticmethod
    def _holds(record: WorkloadRecord, lifecycle: Lifecycle) -> bool:
        return record.written_known and record.written == lifecycle

    def delete(self, key: ObjectKey, last: Mapping[str, Any] | None = None) -> Change | None:
        """The object is gone (DELETED, or absent from a relist). ``last``: its final state."""
        record = self._records.get(key)
        if record is None or not record.exists:
            return None
        before = record.graph
        if last is not None and o.text(o.metadata(last).get("uid")) in (None, record.uid):
            # The final state may say how it ended (a Job that completed, then was deleted).
            projection = project_workload(last)
            observed = WORKLOAD_KINDS[key.kind].observe(projection)
            record.graph = advance(before, observed, self._now(), kind=key.kind)
            record.projection = encode(projection)
        record.exists = False
        record.graph = deleted(record.graph, self._now())
        if record.disposable:
            del self._records[key]
        return Change(key, before, record.graph) if record.graph != before else None

    def mark_written(
        self, key: ObjectKey, record: WorkloadRecord, written: Lifecycle, *, uid: str | None
    ) -> None:
        """``written`` is now in the graph, for instance ``uid``; a tombstone whose stop that was
        is forgotten."""
        if self._records.get(key) is not record:
            return
        record.written = written
        record.written_uid = uid
        record.written_known = True
        if record.disposable:
            del self._records[key]

    def learn_absent(self, key: ObjectKey, record: WorkloadRecord) -> None:
        """The graph holds nothing for this key (found at start-up): a tentative stop is then
        nothing to write; anything else is written as for a new key."""
        if self._records.get(key) is not record or record.written_known:
            return
        record.written_known = True
        tentative = record.graph is not None and is_tentative(record.graph)
        record.written = record.graph if tentative else None
        record.written_uid = record.uid
        if record.disposable:
            del self._records[key]

    def read_back(self, key: ObjectKey, record: WorkloadRecord, decision: ReadBack) -> None:
        """The stored subgraph was read back (and its ended instance stopped, if it had to be):
        the graph now holds ``decision.holds``, and should say ``decision.graph``."""
        if self._records.get(key) is not record:
            return
        record.written = decision.holds
        record.written_uid = record.uid
        record.written_known = True
        record.graph = decision.graph
        if record.disposable:
            del self._records[key]

    def ended_written(self, key: ObjectKey, record: WorkloadRecord, ended: Ended) -> None:
        """The stop of the instance before this one is in the graph."""
        if record.ended is ended:
            record.ended = None
        self.mark_written(key, record, ended.lifecycle, uid=ended.uid)

    def recheck(self, key: ObjectKey) -> bool:
        """Forget what we know the graph holds for ``key``: its next write reads it back first
        (an orphan found the key's object exists again). False when the key is not tracked."""
        record = self._records.get(key)
        if record is None:
            return False
        record.written_known = False
        return True

    def forget(self, key: ObjectKey, record: WorkloadRecord) -> None:
        """Nothing to write for this tombstone after all (a tentative stop of a never-written key)."""
        if self._records.get(key) is record and not record.exists:
            del self._records[key]

    def relist(self, scope: Scope, *, seen_live: bool = True) -> Relist:
        """Start replacing everything in ``scope`` with a fresh listing (see :class:`Relist`)."""
        return Relist(self, scope, seen_live)

    def replace(
        self, scope: Scope, listing: Iterable[Mapping[str, Any]], *, seen_live: bool = True
    ) -> tuple[list[Change], list[ObjectKey]]:
        """Apply a complete listing of ``scope``: the changes, and the keys that vanished."""
        relist = self.relist(scope, seen_live=seen_live)
        for obj in listing:
            relist.add(obj)
        vanished = relist.finish()
        return relist.changes, vanished


class Relist:
    """One listing applied page by page: ``add`` every listed object, then ``finish``, which stops
    the keys of the scope that were not listed and returns them."""

    def __init__(self, table: WorkloadTable, scope: Scope, seen_live: bool) -> None:
        self._table = table
        self._scope = scope
        self._seen_live = seen_live
        self._seen: set[ObjectKey] = set()
        self.changes: list[Change] = []

    def add(self, obj: Mapping[str, Any]) -> Change | None:
        change = self._table.apply(obj, seen_live=self._seen_live)
        self._seen.add(workload_key(obj))
        if change is not None:
            self.changes.append(change)
        return change

    def finish(self) -> list[ObjectKey]:
        vanished = []
        for key in self._table:
            record = self._table.get(key)
            if key in self._scope and key not in self._seen and record and record.exists:
                vanished.append(key)
                change = self._table.delete(key)
                if change is not None:
                    self.changes.append(change)
        return vanished
