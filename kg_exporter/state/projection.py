"""The compact projection of an object: only the fields the templates read.

The daemon keeps one projection per tracked object instead of the object itself, so memory grows
with what we export, not with what the API server sends (managedFields, the last-applied
annotation, env values, probes, ...). A workload's projection is what its kind entry extracts
(:func:`project_workload`, the facts of :func:`kg_exporter.kinds.extract`); a node's is
:func:`project_node`. The contract, tested: ``Renderer.workload_from(project_workload(obj))``
renders exactly the documents ``Renderer.workload(obj)`` does; ``Renderer.node(project_node(obj))``
those of ``Renderer.node(obj)``. That is what lets a key whose object vanished while the watch was
down still be rendered, as stopped.

Projections are stored encoded (:func:`encode`): a compact JSON ``bytes`` is a few hundred bytes and
one object, where the equivalent nested dicts are kilobytes and dozens of objects.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from kg_exporter import objects as o
from kg_exporter.kinds import KindRegistry, bundled_registry, extract

# What templates read of metadata (see render/facts.py: node_facts).
_METADATA = ("name", "namespace", "uid", "creationTimestamp")
_CONDITION_FIELDS = ("type", "status", "lastTransitionTime")
_NODE_INFO = ("architecture", "operatingSystem", "osImage", "kubeletVersion")


def _pick(source: Mapping[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {field: source[field] for field in fields if field in source}


def _conditions(status: Mapping[str, Any], wanted: frozenset[str]) -> list[Any] | None:
    if "conditions" not in status:
        return None
    raw = status["conditions"]
    if not isinstance(raw, list):
        return None
    return [_pick(c, _CONDITION_FIELDS) for c in map(o.mapping, raw) if c.get("type") in wanted]


def project_workload(obj: Mapping[str, Any], kinds: KindRegistry | None = None) -> dict[str, Any]:
    """The projection of a workload object: what its kind entry extracts from it."""
    return extract(obj, kinds if kinds is not None else bundled_registry()).facts


def project_node(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a Node that the node templates read."""
    status = o.mapping(obj.get("status"))
    out_status: dict[str, Any] = _pick(status, ("capacity", "allocatable", "addresses"))
    if "nodeInfo" in status:
        out_status["nodeInfo"] = _pick(o.mapping(status["nodeInfo"]), _NODE_INFO)
    conditions = _conditions(status, frozenset({"Ready"}))
    if conditions is not None:
        out_status["conditions"] = conditions
    meta = o.metadata(obj)
    metadata = _pick(meta, _METADATA)
    if "labels" in meta:
        metadata["labels"] = meta["labels"]
    out: dict[str, Any] = _pick(obj, ("kind",))
    out["metadata"] = metadata
    out["status"] = out_status
    return out


def encode(projection: Mapping[str, Any]) -> bytes:
    return json.dumps(projection, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def decode(data: bytes) -> dict[str, Any]:
    value = json.loads(data)
    if not isinstance(value, dict):
        raise ValueError("a projection is a JSON object")
    return value
