"""The latest minimal state of every tracked workload, and which of them need a write.

One :class:`WorkloadRecord` per object key: the compact projection of the object (see
:mod:`~kg_exporter.state.projection`), the lifecycle the graph should hold (``graph``) and the one we
last wrote (``written``). A change of ``graph`` is returned as a :class:`Change`, which the caller
turns into a queued key; everything else (a replica restarting, a label edit) only refreshes the
projection, so the next write carries it.

A deleted object stays as a tombstone until its stop is written, then is forgotten: memory follows
the objects that exist. A relist (:meth:`WorkloadTable.relist`) yields the keys that vanished while
the watch was down, and stops them.

Children (see :mod:`~kg_exporter.state.family`) are tracked like any object but a folded one never
has a ``graph`` of its own: a change to it re-evaluates its owners, whose changes are collected for
the caller (:meth:`WorkloadTable.owner_changes`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from kg_exporter import objects as o
from kg_exporter.identity import ObjectKey
from kg_exporter.kinds import Extract, KindRegistry, bundled_registry, extract, object_key
from kg_exporter.render.facts import Lifecycle
from kg_exporter.state.family import Family, Member
from kg_exporter.state.lifecycle import Observation, Phase
from kg_exporter.state.projection import encode
from kg_exporter.state.readback import ReadBack
from kg_exporter.state.transitions import advance, deleted, is_tentative

log = logging.getLogger("kg_exporter.state")
_PENDING = Observation(Phase.PENDING)


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
    #: What the object itself says (its own rules), and its controlling owner of a configured kind.
    observation: Observation = _PENDING
    owner: ObjectKey | None = None
    #: Part of its owner's workload: never written on its own.
    folded: bool = False
    #: The rule failure last logged for it (logged again only when it changes).
    problem: str | None = None
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
    """Records by key. ``now`` gives the current time as RFC 3339 (the injected clock); ``kinds``
    the workload kinds (default: the bundled ones)."""

    def __init__(
        self,
        now: Callable[[], str],
        kinds: KindRegistry | None = None,
        *,
        reconciled: bool = True,
    ) -> None:
        self._now = now
        self.kinds = kinds if kinds is not None else bundled_registry()
        self._records: dict[ObjectKey, WorkloadRecord] = {}
        #: False until the start-up reconciliation has read which ids the graph holds: until
        #: then no new key can be assumed absent from the graph (see :meth:`reconciled_now`).
        self.reconciled = reconciled
        self.family = Family(self.kinds, self._member)
        self._owner_changes: list[Change] = []

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[ObjectKey]:
        return iter(list(self._records))

    def get(self, key: ObjectKey) -> WorkloadRecord | None:
        return self._records.get(key)

    def exported(self) -> Iterator[ObjectKey]:
        """Keys written as workloads of their own (not folded into an owner)."""
        return iter([k for k, r in self._records.items() if not r.folded])

    def _member(self, key: ObjectKey) -> Member | None:
        record = self._records.get(key)
        if record is None:
            return None
        return Member(record.observation, record.owner, record.exists)

    def owner_changes(self) -> list[Change]:
        """The changes of owners that their children's events caused since the last call."""
        changes, self._owner_changes = self._owner_changes, []
        return changes

    def inherited(self, key: ObjectKey) -> list[bytes]:
        """Projections of the children whose pods are ``key``'s, and of theirs, nearest first."""
        out: list[bytes] = []
        pending, seen = [key], {key}
        while pending and len(seen) <= 64:
            for child in self.family.children(pending.pop(0), pods=True):
                record = self._records.get(child)
                if record is not None and child not in seen:
                    seen.add(child)
                    out.append(record.projection)
                    pending.append(child)
        return out

    def _report(self, record: WorkloadRecord, extracted: Extract) -> None:
        problem = "; ".join(extracted.problems) or None
        if problem is not None and problem != record.problem:
            log.warning(
                "%s: its kind's rules cannot read it (%s); it stays pending until they can",
                extracted.key,
                problem,
            )
        record.problem = problem

    def apply(self, obj: Mapping[str, Any], *, seen_live: bool = True) -> Change | None:
        """Record the object's current state (ADDED, MODIFIED, or listed). ``obj`` must carry its
        ``kind``. ``seen_live`` is False while the daemon's first listing is processed."""
        extracted = extract(obj, self.kinds)
        key, uid = extracted.key, extracted.uid
        now = self._now()
        record = self._records.get(key)
        folded = self.family.is_folded(key, extracted.owner)
        if record is None:
            known = seen_live and self.reconciled
            record = WorkloadRecord(uid, encode(extracted.facts), None, None, known)
            self._records[key] = record
            record.observation = extracted.observation
            self._link(record, key, extracted, folded)
            self._report(record, extracted)
            if not folded:
                observed = self.family.effective(key, record.observation)
                record.graph = self._advance(key, None, observed, now, seen_live)
            self._reevaluate(key, record.owner, seen_live)
            graph = record.graph
            return Change(key, None, graph) if graph is not None else None
        self._report(record, extracted)
        before, uid_before = record.graph, record.uid
        previous = record.observation
        record.observation = extracted.observation
        projection = encode(extracted.facts)
        if folded:
            graph = None
            record.projection, record.uid = projection, uid
        elif not record.exists or (uid is not None and uid != record.uid):
            observed = self.family.effective(key, record.observation)
            graph = self._recreated(record, key, observed, projection, uid, now, seen_live)
        else:
            observed = self.family.effective(key, record.observation)
            graph = self._advance(key, before, observed, now, seen_live)
            record.projection, record.uid = projection, uid
        self._link(record, key, extracted, folded)
        record.exists = True
        record.graph = graph
        if folded or record.observation != previous:
            self._reevaluate(key, record.owner, seen_live)
        if graph != before or (record.uid != uid_before and record.needs_write):
            return Change(key, before, graph)
        return None

    def _link(self, record: WorkloadRecord, key: ObjectKey, extracted: Extract, folded: bool) -> None:
        self.family.link(key, record.owner, extracted.owner)
        record.owner = extracted.owner
        record.folded = folded

    def _advance(
        self,
        key: ObjectKey,
        graph: Lifecycle | None,
        observed: Observation,
        now: str,
        seen_live: bool,
    ) -> Lifecycle | None:
        clock_timed = self.kinds[key.kind].clock_timed
        return advance(graph, observed, now, clock_timed=clock_timed, seen_live=seen_live)

    def _reevaluate(self, key: ObjectKey, owner: ObjectKey | None, seen_live: bool) -> None:
        """A child changed: what its owners (up the chain) should say now."""
        for ancestor in self.family.ancestors(key, owner):
            record = self._records.get(ancestor)
            if record is None or not record.exists:
                return
            if record.folded:
                continue
            before = record.graph
            observed = self.family.effective(ancestor, record.observation)
            record.graph = self._advance(ancestor, before, observed, self._now(), seen_live)
            if record.graph != before:
                self._owner_changes.append(Change(ancestor, before, record.graph))

    def _recreated(
        self,
        record: WorkloadRecord,
        key: ObjectKey,
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
        graph = self._advance(key, None, observed, now, seen_live)
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
            extracted = extract(last, self.kinds)
            record.observation = extracted.observation
            record.projection = encode(extracted.facts)
            if not record.folded:
                observed = self.family.effective(key, record.observation)
                record.graph = self._advance(key, before, observed, self._now(), True)
        record.exists = False
        record.graph = deleted(record.graph, self._now())
        owner = record.owner
        self.family.departed(key, owner, self.family.effective(key, record.observation))
        if record.folded or record.disposable:
            self._drop(key)
        self._reevaluate(key, owner, True)
        return Change(key, before, record.graph) if record.graph != before else None

    def _drop(self, key: ObjectKey) -> None:
        record = self._records.pop(key)
        self.family.link(key, record.owner, None)
        self.family.forget(key)

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
            self._drop(key)

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
            self._drop(key)

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
            self._drop(key)

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
            self._drop(key)

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
        self._seen.add(object_key(obj, self._table.kinds))
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
