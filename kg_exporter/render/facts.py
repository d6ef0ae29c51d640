"""What templates may see of a Kubernetes object: an explicit allow-list, never the object itself.

Templates get plain dicts built here, so a template cannot reach a secret even by mistake: container
``env``/``envFrom`` values, secret volumes and the ``last-applied-configuration`` annotation (which holds
the whole manifest, env values included) are never copied in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kg_exporter import objects as o
from kg_exporter.identity import Iris, ObjectKey
from kg_exporter.render.quantity import as_json_number, parse_quantity
from kg_exporter.state.lifecycle import Observation, Outcome, Phase

#: Annotations never exported: they copy whole manifests (env values included) or tokens.
EXCLUDED_ANNOTATIONS = frozenset(
    {
        "kubectl.kubernetes.io/last-applied-configuration",
        "deployment.kubernetes.io/revision-history",
        "meta.helm.sh/release-values",
    }
)
#: Annotation declaring Data a workload depends on: whitespace- or comma-separated absolute IRIs.
DATA_ANNOTATION = "kg-exporter.io/data-dependencies"
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
#: StatefulSet claims are per ordinal; past this many we link the first ones only.
MAX_CLAIM_ORDINALS = 1000


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """The lifecycle facts a workload subgraph states (from the daemon's state or the object)."""

    phase: Phase
    started_at: str | None = None
    ended_at: str | None = None
    outcome: Outcome | None = None

    @classmethod
    def from_observation(cls, observation: Observation) -> Lifecycle:
        return cls(
            observation.phase, observation.started_at, observation.ended_at, observation.outcome
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


def _containers(iri: str, pod_spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    containers = []
    for section in ("initContainers", "containers"):
        for raw in o.sequence(pod_spec.get(section)):
            container = o.mapping(raw)
            name = o.text(container.get("name"))
            if name is None:
                continue
            c_iri = Iris.child(iri, "container", name)
            resources = o.mapping(container.get("resources"))
            containers.append(
                {
                    "iri": c_iri,
                    "name": name,
                    "init": section == "initContainers",
                    "image": o.text(container.get("image")),
                    "resources": _resources(c_iri, "requests", o.mapping(resources.get("requests")))
                    + _resources(c_iri, "limits", o.mapping(resources.get("limits"))),
                }
            )
    return containers


def _claims(obj: Mapping[str, Any], pod_spec: Mapping[str, Any], namespace: str) -> list[str]:
    """Names of the PersistentVolumeClaims a workload's pods mount (never secret volumes)."""
    names: set[str] = set()
    for raw in o.sequence(pod_spec.get("volumes")):
        claim = o.text(o.mapping(o.mapping(raw).get("persistentVolumeClaim")).get("claimName"))
        if claim is not None:
            names.add(claim)
    spec = o.mapping(obj.get("spec"))
    workload_name = o.name_of(obj) or ""
    replicas = o.integer(spec.get("replicas"))
    count = min(max(replicas if replicas is not None else 1, 0), MAX_CLAIM_ORDINALS)
    for raw in o.sequence(spec.get("volumeClaimTemplates")):
        template = o.text(o.metadata(o.mapping(raw)).get("name"))
        if template is not None:
            # A StatefulSet's pod N mounts the claim <template>-<statefulset>-<N>.
            names.update(f"{template}-{workload_name}-{i}" for i in range(count))
    return sorted(names)


def _declared_data(annotations: Mapping[str, str]) -> list[str]:
    raw = annotations.get(DATA_ANNOTATION, "")
    iris = []
    for token in raw.replace(",", " ").split():
        scheme, sep, rest = token.partition(":")
        # Only absolute IRIs without characters IRIs may not hold; the rest are ignored.
        if (
            sep
            and scheme.isascii()
            and scheme[:1].isalpha()
            and rest
            and not any(c in token for c in '<>"{}|\\^`')
        ):
            iris.append(token)
    return sorted(set(iris))


def pod_spec_of(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return o.mapping(o.mapping(o.mapping(obj.get("spec")).get("template")).get("spec"))


def workload_facts(
    obj: Mapping[str, Any], key: ObjectKey, iris: Iris, lifecycle: Lifecycle
) -> dict[str, Any]:
    """The ``workload`` variable of the workload and workload-telemetry templates."""
    meta = o.metadata(obj)
    labels = o.string_map(meta.get("labels"))
    annotations = {
        k: v for k, v in o.string_map(meta.get("annotations")).items()
        if k not in EXCLUDED_ANNOTATIONS
    }  # fmt: skip
    iri = iris.workload(key)
    pod_spec = pod_spec_of(obj)
    namespace = key.namespace or "default"
    containers = _containers(iri, pod_spec)
    gpus = any(
        r["resource"] in GPU_RESOURCES and (r["amount"] or 0) > 0
        for c in containers
        for r in c["resources"]
    )
    node_name = o.text(pod_spec.get("nodeName"))
    claims = [
        {"iri": iris.pvc(namespace, claim), "name": claim}
        for claim in _claims(obj, pod_spec, namespace)
    ]
    declared = _declared_data(o.string_map(meta.get("annotations")))
    return {
        "iri": iri,
        "kind": key.kind,
        "name": key.name,
        "namespace": namespace,
        "uid": o.text(meta.get("uid")),
        "created_at": o.timestamp(meta.get("creationTimestamp")),
        "app_name": labels.get(APP_LABEL) or key.name,
        "replicas": o.integer(o.mapping(obj.get("spec")).get("replicas")),
        "labels": _key_values(iri, "label", labels),
        "annotations": _key_values(iri, "annotation", annotations),
        "containers": containers,
        "images": sorted({c["image"] for c in containers if c["image"]}),
        "has_gpu": gpus,
        "nodes": [iris.node(node_name)] if node_name else [],
        "claims": claims,
        "depends_on": [c["iri"] for c in claims] + declared,
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
