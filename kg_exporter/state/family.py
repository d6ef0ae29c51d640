"""Owners and children: which tracked objects a workload controls, and what they say together.

An object whose controlling owner is of a configured kind is that owner's child. By default it is
folded in (not exported); the owner's kind entry may take its lifecycle from such children, its
pods from them, its start and end times from them (a JobSet's Jobs say when it started; it does
not), or export them as workloads of their own (part of the owner). The index answers from the
daemon's own records — no API call per event — and remembers the last word of a lifecycle or times
child that is gone, so a finished MiniCluster does not fall back to its own (unreliable) status
when its Job is garbage-collected.

Owner chains can be of any depth (Ensemble → MiniCluster → Job), and objects are hostile: a
chain longer than :data:`MAX_DEPTH` or a cycle of ownerReferences is cut, never followed forever.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from kg_exporter.identity import ObjectKey
from kg_exporter.kinds import KindRegistry
from kg_exporter.state.lifecycle import Observation, Phase, combine, timed_by

#: Longest owner chain followed (Ensemble → MiniCluster → Job is 3).
MAX_DEPTH = 8


@dataclass(frozen=True, slots=True)
class Member:
    """What the family needs of one tracked object."""

    observation: Observation
    owner: ObjectKey | None
    exists: bool


class Family:
    def __init__(self, kinds: KindRegistry, member: Callable[[ObjectKey], Member | None]) -> None:
        self._kinds = kinds
        self._member = member
        self._children: dict[ObjectKey, set[ObjectKey]] = {}
        #: Last observation of lifecycle children that are gone, per owner.
        self._departed: dict[ObjectKey, dict[ObjectKey, Observation]] = {}

    def is_folded(self, key: ObjectKey, owner: ObjectKey | None) -> bool:
        """Whether ``key`` is part of its owner's workload rather than one of its own."""
        if owner is None:
            return False
        rule = self._kinds[owner.kind].child(key.kind)
        return rule is None or not rule.export

    def link(self, key: ObjectKey, before: ObjectKey | None, owner: ObjectKey | None) -> None:
        if before == owner:
            return
        if before is not None:
            self._unlink(key, before)
        if owner is not None:
            self._children.setdefault(owner, set()).add(key)

    def _unlink(self, key: ObjectKey, owner: ObjectKey) -> None:
        children = self._children.get(owner)
        if children is not None:
            children.discard(key)
            if not children:
                del self._children[owner]

    def departed(self, key: ObjectKey, owner: ObjectKey | None, last: Observation) -> None:
        """``key`` is gone; if its owner's lifecycle or times are its children's, remember how it
        ended (a JobSet's Jobs deleted after a restart still tell when the JobSet started)."""
        if owner is None:
            return
        self._unlink(key, owner)
        rule = self._kinds[owner.kind].child(key.kind)
        if rule is not None and (rule.lifecycle or rule.times):
            if last.phase is not Phase.STOPPED:
                last = Observation(
                    Phase.STOPPED, started_at=last.started_at, start_known=last.start_known
                )
            self._departed.setdefault(owner, {})[key] = last

    def forget(self, owner: ObjectKey) -> None:
        """The owner itself is gone for good."""
        self._departed.pop(owner, None)

    def children(self, owner: ObjectKey, *, pods: bool = False) -> list[ObjectKey]:
        """The tracked children whose lifecycle (or, with ``pods``, pods) are the owner's."""
        spec = self._kinds.get(owner.kind)
        if spec is None:
            return []
        out = []
        for child in sorted(self._children.get(owner, ()), key=str):
            rule = spec.child(child.kind)
            if rule is not None and (rule.pods if pods else rule.lifecycle):
                out.append(child)
        return out

    def effective(self, key: ObjectKey, own: Observation, depth: int = 0) -> Observation:
        """What ``key`` says once its lifecycle children, then the children its times come
        from, have had their say."""
        spec = self._kinds.get(key.kind)
        if depth >= MAX_DEPTH or spec is None:
            return own
        said: list[Observation] = []
        timed: list[Observation] = []
        heard = [
            (child, self._member(child)) for child in sorted(self._children.get(key, ()), key=str)
        ]
        for child, member in heard:
            rule = spec.child(child.kind)
            if member is None or rule is None or not (rule.lifecycle or rule.times):
                continue
            observed = self.effective(child, member.observation, depth + 1)
            if rule.lifecycle:
                said.append(observed)
            if rule.times:
                timed.append(observed)
        gone: list[Observation] = []
        for child, last in self._departed.get(key, {}).items():
            rule = spec.child(child.kind)
            if rule is not None and rule.lifecycle:
                said.append(last)
            if rule is not None and rule.times:
                gone.append(last)
        return timed_by(combine(own, said), timed, gone)

    def ancestors(self, key: ObjectKey, owner: ObjectKey | None) -> Iterator[ObjectKey]:
        """The owner chain above ``key``, nearest first, cut at cycles and :data:`MAX_DEPTH`."""
        seen = {key}
        while owner is not None and owner not in seen and len(seen) <= MAX_DEPTH:
            yield owner
            seen.add(owner)
            member = self._member(owner)
            owner = member.owner if member is not None else None
