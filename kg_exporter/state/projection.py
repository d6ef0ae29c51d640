"""The compact projection of an object: only the fields the lifecycle rules and templates read.

The daemon keeps one projection per tracked object instead of the object itself, so memory grows
with what we export, not with what the API server sends (managedFields, the last-applied
annotation, env values, probes, ...). The contract, tested: for any object ``obj``,
``Renderer.workload(project_workload(obj))`` renders exactly the documents ``Renderer.workload(obj)``
does, and ``observe(project_workload(obj)) == observe(obj)``; the same for nodes. That is what lets
a key whose object vanished while the watch was down still be rendered, as stopped.

Projections are stored encoded (:func:`encode`): a compact JSON ``bytes`` is a few hundred bytes and
one object, where the equivalent nested dicts are kilobytes and dozens of objects.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from kg_exporter import objects as o
from kg_exporter.render.facts import EXCLUDED_ANNOTATIONS

# What templates read of metadata (see render/facts.py: workload_facts, node_facts).
_METADATA = ("name", "namespace", "uid", "creationTimestamp")
# What the lifecycle rules read of a workload's status (state/lifecycle.py).
_WORKLOAD_STATUS = ("availableReplicas", "readyReplicas", "active", "startTime", "completionTime")
_CONDITION_FIELDS = ("type", "status", "lastTransitionTime")
_LIFECYCLE_CONDITIONS = frozenset({"Available", "Complete", "Failed"})
_NODE_INFO = ("architecture", "operatingSystem", "osImage", "kubeletVersion")


def _pick(source: Mapping[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {field: source[field] for field in fields if field in source}


def _metadata(obj: Mapping[str, Any], *, annotations: bool) -> dict[str, Any]:
    meta = o.metadata(obj)
    out = _pick(meta, _METADATA)
    if "labels" in meta:
        out["labels"] = meta["labels"]
    if annotations and "annotations" in meta:
        raw = o.mapping(meta["annotations"])
        # Excluded annotations hold whole manifests: never kept, never rendered.
        out["annotations"] = {k: v for k, v in raw.items() if k not in EXCLUDED_ANNOTATIONS}
    return out


def _conditions(status: Mapping[str, Any], wanted: frozenset[str]) -> list[Any] | None:
    if "conditions" not in status:
        return None
    raw = status["conditions"]
    if not isinstance(raw, list):
        return None
    return [_pick(c, _CONDITION_FIELDS) for c in map(o.mapping, raw) if c.get("type") in wanted]


def _container(raw: object) -> dict[str, Any]:
    container = o.mapping(raw)
    out = _pick(container, ("name", "image"))
    resources = o.mapping(container.get("resources"))
    kept = _pick(resources, ("requests", "limits"))
    if kept:
        out["resources"] = kept
    return out


def _pod_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    pod = o.mapping(o.mapping(spec.get("template")).get("spec"))
    out: dict[str, Any] = {}
    for section in ("initContainers", "containers"):
        if section in pod:
            out[section] = [_container(c) for c in o.sequence(pod[section])]
    if "nodeName" in pod:
        out["nodeName"] = pod["nodeName"]
    if "volumes" in pod:
        # Only claims are exported; secret and configMap volumes are not even kept.
        out["volumes"] = [
            {"persistentVolumeClaim": _pick(claim, ("claimName",))}
            for claim in (
                o.mapping(o.mapping(v).get("persistentVolumeClaim"))
                for v in o.sequence(pod["volumes"])
            )
            if claim
        ]
    return out


def project_workload(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a Deployment/StatefulSet/Job that lifecycle rules and templates read."""
    spec = o.mapping(obj.get("spec"))
    out_spec: dict[str, Any] = _pick(spec, ("replicas",))
    pod = _pod_spec(spec)
    if pod:
        out_spec["template"] = {"spec": pod}
    if "volumeClaimTemplates" in spec:
        out_spec["volumeClaimTemplates"] = [
            {"metadata": _pick(o.metadata(o.mapping(t)), ("name",))}
            for t in o.sequence(spec["volumeClaimTemplates"])
        ]
    status = o.mapping(obj.get("status"))
    out_status = _pick(status, _WORKLOAD_STATUS)
    conditions = _conditions(status, _LIFECYCLE_CONDITIONS)
    if conditions is not None:
        out_status["conditions"] = conditions
    out: dict[str, Any] = _pick(obj, ("kind",))
    out["metadata"] = _metadata(obj, annotations=True)
    out["spec"] = out_spec
    out["status"] = out_status
    return out


def project_node(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a Node that the node templates read."""
    status = o.mapping(obj.get("status"))
    out_status: dict[str, Any] = _pick(status, ("capacity", "allocatable", "addresses"))
    if "nodeInfo" in status:
        out_status["nodeInfo"] = _pick(o.mapping(status["nodeInfo"]), _NODE_INFO)
    conditions = _conditions(status, frozenset({"Ready"}))
    if conditions is not None:
        out_status["conditions"] = conditions
    out: dict[str, Any] = _pick(obj, ("kind",))
    out["metadata"] = _metadata(obj, annotations=False)
    out["status"] = out_status
    return out


def encode(projection: Mapping[str, Any]) -> bytes:
    return json.dumps(projection, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def decode(data: bytes) -> dict[str, Any]:
    value = json.loads(data)
    if not isinstance(value, dict):
        raise ValueError("a projection is a JSON object")
    return value
