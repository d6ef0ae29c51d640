"""What templates may see of a Kubernetes object: an explicit allow-list, never the object itself.

Templates get plain dicts built here, so a template cannot reach a secret even by mistake: container
``env``/``envFrom`` values, secret volumes and the ``last-applied-configuration`` annotation (which holds
the whole manifest, env values included) are never copied in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kg_exporter import objects as o
from kg_exporter.identity import Iris, ObjectKey
from kg_exporter.kinds.data import DATA_ANNOTATION
from kg_exporter.kinds.extract import EXCLUDED_ANNOTATIONS
from kg_exporter.render.quantity import as_json_number, parse_quantity
from kg_exporter.state.lifecycle import Observation, Outcome, Phase

#: Annotation naming the application; falls back to the well-known label, then the workload name.
APP_LABEL = "app.kubernetes.io/name"
#: Resources we export per container and node; GPUs under their vendor resource names.
RESOURCE_UNITS = {
    "cpu": ("unit:NUM", "cores"),
    "memory": ("unit:BYTE", "bytes"),
    "ephemeral-storage": ("unit:BYTE", "bytes"),
    "nvidia.com/gpu": ("unit:NUM", "devices"),
    "amd.com/gpu": ("unit:NUM", "devices"),
    "pods": ("unit:NUM", "pods"),
}
GPU_RESOURCES = ("nvidia.com/gpu", "amd.com/gpu")
__all__ = ["DATA_ANNOTATION", "EXCLUDED_ANNOTATIONS", "Lifecycle", "node_facts", "workload_facts"]


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """The lifecycle facts a workload subgraph states (from the daemon's state or the object)."""

    phase: Phase
    started_at: str | None = None
    ended_at: str | None = None
    outcome: Outcome | None = None
    #: The start is one an object stated (see :class:`Observation`), not the daemon's guess; not
    #: part of what the graph holds, so not compared.
    start_known: bool = field(default=False, compare=False)
    #: Running again after a stop that ended then: a start stated before it is the last run's.
    resumed_after: str | None = field(default=None, compare=False)

    @classmethod
    def from_observation(cls, observation: Observation) -> Lifecycle:
        return cls(
            observation.phase,
            observation.started_at,
            observation.ended_at,
            observation.outcome,
            observation.start_known,
        )


def _resources(iri: str, section: str, values: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for resource, raw in sorted(values.items()):
        if not isinstance(resource, str):
            continue
        amount = parse_quantity(raw)
        unit, unit_label = RESOURCE_UNITS.get(resource, ("unit:NUM", "count"))
        out.append(
            {
                "iri": Iris.child(iri, section, resource),
                "section": section,
                "resource": resource,
                "quantity": str(raw) if isinstance(raw, str | int | float) else None,
                "amount": as_json_number(amount) if amount is not None else None,
                "unit": unit,
                "unit_label": unit_label,
            }
        )
    return out


def _key_values(iri: str, section: str, values: Mapping[str, str]) -> list[dict[str, str]]:
    return [
        {"iri": Iris.child(iri, section, key), "key": key, "value": value}
        for key, value in sorted(values.items())
    ]


def _containers(
    iri: str, containers: Sequence[Mapping[str, Any]], prefix: str | None = None
) -> list[dict[str, Any]]:
    out = []
    for container in containers:
        name = container["name"]
        group = container.get("group")
        if prefix is not None:
            group = f"{prefix}/{group}" if group else prefix
        c_iri = Iris.child(iri, "container", *((group,) if group else ()), name)
        out.append(
            {
                "iri": c_iri,
                "name": name,
                "group": group,
                "init": container["init"],
                "image": container["image"],
                "resources": _resources(c_iri, "requests", container.get("requests", {}))
                + _resources(c_iri, "limits", container.get("limits", {})),
            }
        )
    return out


def _claims(projection: Mapping[str, Any]) -> set[str]:
    """Names of the PersistentVolumeClaims a workload's pods mount (never secret volumes)."""
    names = set(projection["claims"])
    for prefix, count in projection["claim_sets"]:
        names.update(f"{prefix}-{i}" for i in range(count))
    return names


def _pod_children(
    projection: Mapping[str, Any], inherited: Sequence[Mapping[str, Any]]
) -> Sequence[Mapping[str, Any]]:
    """The children whose pods are the workload's: those its spec declares (an Ensemble's
    members), in their order, each replaced by the child itself once that exists — the same
    facts when the controller made it as declared, so the document does not change when it
    appears — then the other children that exist."""
    declared = projection.get("declared")
    if not declared:
        return inherited
    real = {(c["kind"], c["name"]): c for c in inherited}
    out = [real.pop((d["kind"], d["name"]), d) for d in declared]
    return out + [c for c in inherited if (c["kind"], c["name"]) in real]


def workload_facts(
    projection: Mapping[str, Any],
    iris: Iris,
    lifecycle: Lifecycle,
    *,
    class_iri: str,
    inherited: Sequence[Mapping[str, Any]] = (),
    part_of: str | None = None,
) -> dict[str, Any]:
    """The ``workload`` variable of the workload and workload-telemetry templates, from a
    projection (:func:`kg_exporter.kinds.extract`) and those of the children whose pods are its
    own (``inherited``, and those its spec declares; their containers are told apart by the
    child's name)."""
    key = ObjectKey(projection["kind"], projection["namespace"], projection["name"])
    iri = iris.workload(key)
    namespace = key.namespace or "default"
    labels = projection["labels"]
    containers = _containers(iri, projection["containers"])
    claims = _claims(projection)
    uses, produces = set(projection["uses"]), set(projection["produces"])
    pods = [projection["pods"]]
    own_labels = projection.get("pod_labels")
    # A workload selected by labels states the labels all its pods carry, its children's too;
    # otherwise each part (its own pods, each child's whose pods are its own) goes its kind's way.
    parts = [{"labels": own_labels} if own_labels else {"regex": projection["pods"]}]
    node = projection["node"]
    for child in _pod_children(projection, inherited):
        prefix = None if child["name"] == key.name else child["name"]
        containers += _containers(iri, child["containers"], prefix)
        claims |= _claims(child)
        uses.update(child["uses"])
        produces.update(child["produces"])
        pods.append(child["pods"])
        if not own_labels:
            labels_of = child.get("pod_labels")
            parts.append({"labels": labels_of} if labels_of else {"regex": child["pods"]})
        node = node or child["node"]
    gpus = any(
        r["resource"] in GPU_RESOURCES and (r["amount"] or 0) > 0
        for c in containers
        for r in c["resources"]
    )
    claim_facts = [{"iri": iris.pvc(namespace, claim), "name": claim} for claim in sorted(claims)]
    artifacts = sorted(i for i in uses | produces if i.startswith("oci://"))
    unique_pods = list(dict.fromkeys(pods))
    return {
        "iri": iri,
        "kind": key.kind,
        "type_iri": class_iri,
        "name": key.name,
        "namespace": namespace,
        "uid": projection["uid"],
        "created_at": projection["created"],
        "app_name": labels.get(APP_LABEL) or key.name,
        "replicas": projection["replicas"],
        "labels": _key_values(iri, "label", labels),
        "annotations": _key_values(iri, "annotation", projection["annotations"]),
        "containers": containers,
        "images": sorted({c["image"] for c in containers if c["image"]}),
        "has_gpu": gpus,
        "nodes": [iris.node(node)] if node else [],
        "claims": claim_facts,
        "depends_on": [c["iri"] for c in claim_facts] + sorted(uses),
        "produces": sorted(produces),
        "artifacts": artifacts,
        "part_of": [part_of] if part_of else [],
        "pod_regex": unique_pods[0] if len(unique_pods) == 1 else "(?:" + "|".join(unique_pods) + ")",
        # "labels" when any part goes by labels: the metrics then join kube_pod_labels
        # (render/podlabels.py); logs always go by pod name (docs/kinds.md).
        "pod_selection": "labels" if any("labels" in p for p in parts) else "name",
        "pod_parts": parts,
        "status": {
            "iri": Iris.child(iri, "status"),
            "phase": lifecycle.phase.value,
            "started_at": lifecycle.started_at,
            "ended_at": lifecycle.ended_at,
            "outcome": lifecycle.outcome.value if lifecycle.outcome else None,
        },
    }


def _node_ready(status: Mapping[str, Any]) -> bool | None:
    for raw in o.sequence(status.get("conditions")):
        condition = o.mapping(raw)
        if condition.get("type") == "Ready":
            return condition.get("status") == "True"
    return None


def node_facts(
    obj: Mapping[str, Any],
    name: str,
    iris: Iris,
    *,
    present: bool = True,
    left_at: str | None = None,
) -> dict[str, Any]:
    """The ``node`` variable of the node and node-telemetry templates."""
    meta = o.metadata(obj)
    status = o.mapping(obj.get("status"))
    info = o.mapping(status.get("nodeInfo"))
    iri = iris.node(name)
    capacity = o.mapping(status.get("capacity"))
    allocatable = o.mapping(status.get("allocatable"))
    gpu_count = sum((parse_quantity(capacity.get(resource)) or 0) for resource in GPU_RESOURCES)
    addresses = [
        {"type": o.text(a.get("type")), "address": o.text(a.get("address"))}
        for a in map(o.mapping, o.sequence(status.get("addresses")))
        if o.text(a.get("type")) and o.text(a.get("address"))
    ]
    return {
        "iri": iri,
        "name": name,
        "uid": o.text(meta.get("uid")),
        "created_at": o.timestamp(meta.get("creationTimestamp")),
        "labels": _key_values(iri, "label", o.string_map(meta.get("labels"))),
        "architecture": o.text(info.get("architecture")),
        "operating_system": o.text(info.get("operatingSystem")),
        "os_image": o.text(info.get("osImage")),
        "kubelet_version": o.text(info.get("kubeletVersion")),
        "ready": _node_ready(status) if present else False,
        "present": present,
        "addresses": addresses,
        "resources": _resources(iri, "capacity", capacity)
        + _resources(iri, "allocatable", allocatable),
        "has_gpu": gpu_count > 0,
        "status": {
            "iri": Iris.child(iri, "status"),
            "phase": "running" if present else "stopped",
            "ended_at": None if present else o.timestamp(left_at),
        },
    }


def node_names(nodes: Sequence[Mapping[str, Any]]) -> list[str]:
    return sorted({name for name in (o.name_of(n) for n in nodes) if name})
