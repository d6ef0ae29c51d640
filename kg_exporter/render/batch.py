"""Rendering a whole set of objects: what `render`, backfill and the examples share."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from kg_exporter import objects as o
from kg_exporter.errors import RenderError
from kg_exporter.kinds import NODE_KIND, WORKLOAD_KINDS
from kg_exporter.render.renderer import Renderer, Subgraph


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
    """Workload + telemetry per Deployment/StatefulSet/Job, node + telemetry per Node, then the
    glaciation node + telemetry once (listing the nodes seen). ``objects`` pairs each object with
    where it came from, for the skip notes."""
    nodes: set[str] = set()
    for obj, where in objects:
        kind = obj.get("kind")
        try:
            if isinstance(kind, str) and kind in WORKLOAD_KINDS:
                yield from renderer.workload(obj)
            elif kind == NODE_KIND:
                yield from renderer.node(obj)
                name = o.name_of(obj)
                if name:
                    nodes.add(name)
            else:
                yield Skipped(f"kind {kind!r} is not exported", where)
        except RenderError as exc:
            yield Skipped(str(exc), where, failed=True)
    if include_glaciation_node:
        yield from renderer.glaciation_node(nodes)
