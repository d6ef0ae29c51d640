"""Rendering a whole set of objects: what `render`, backfill and the examples share.

Objects are rendered as they come, except where owners and children meet (see
:mod:`~kg_exporter.state.family`): a child folded into its owner (a JobSet's Jobs) is not exported,
and a workload whose lifecycle, times or pods are its children's (a MetricSet, an Ensemble, a
JobSet) is rendered once every object has been read. Only those are held, as compact projections.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from kg_exporter import objects as o
from kg_exporter.errors import RenderError
from kg_exporter.identity import ObjectKey
from kg_exporter.kinds import NODE_KIND, Extract, extract
from kg_exporter.render.facts import Lifecycle
from kg_exporter.render.renderer import Renderer, Subgraph
from kg_exporter.state.family import Family, Member


@dataclass(frozen=True, slots=True)
class Skipped:
    """An object that yields no subgraph, and why: a kind that is not exported (a note), or an
    object or template that could not be rendered (``failed``: an error the caller reports)."""

    reason: str
    where: str = ""
    failed: bool = False


def render_objects(
    objects: Iterable[tuple[Mapping[str, Any], str]],
    renderer: Renderer,
    *,
    include_glaciation_node: bool = True,
) -> Iterator[Subgraph | Skipped]:
    """Workload + telemetry per launched workload (children folded into their owners), node +
    telemetry per Node, then the glaciation node + telemetry once (listing the nodes seen).
    ``objects`` pairs each object with where it came from, for the skip notes."""
    kinds = renderer.kinds
    held: dict[ObjectKey, tuple[Extract, str]] = {}

    def member(key: ObjectKey) -> Member | None:
        found = held.get(key)
        return Member(found[0].observation, found[0].owner, True) if found else None

    family = Family(kinds, member)
    nodes: set[str] = set()
    for obj, where in objects:
        kind = obj.get("kind")
        try:
            if kind in kinds:
                extracted = extract(obj, kinds)
                spec = kinds[extracted.key.kind]
                folded = family.is_folded(extracted.key, extracted.owner)
                if folded or any(r.lifecycle or r.pods or r.times for r in spec.children.values()):
                    held[extracted.key] = (extracted, where)
                    family.link(extracted.key, None, extracted.owner)
                    continue
                lifecycle = Lifecycle.from_observation(extracted.observation)
                yield from renderer.workload_from(extracted.facts, lifecycle)
            elif kind == NODE_KIND:
                yield from renderer.node(obj)
                name = o.name_of(obj)
                if name:
                    nodes.add(name)
            else:
                yield Skipped(f"kind {kind!r} is not exported", where)
        except RenderError as exc:
            yield Skipped(str(exc), where, failed=True)
    for key, (extracted, where) in held.items():
        if family.is_folded(key, extracted.owner):
            continue
        observed = family.effective(key, extracted.observation)
        inherited = []
        pending = [key]
        while pending:
            for child in family.children(pending.pop(), pods=True):
                if child in held and child != key:
                    inherited.append(held[child][0].facts)
                    pending.append(child)
        try:
            yield from renderer.workload_from(
                extracted.facts, Lifecycle.from_observation(observed), inherited=inherited
            )
        except RenderError as exc:
            yield Skipped(str(exc), where, failed=True)
    if include_glaciation_node:
        yield from renderer.glaciation_node(nodes)
