"""A workload (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job) → its task in the snapshot.

As the published exporter: a workload is a ``glc:AssignedTask`` described by its kind, with
constraints from its pod template: the sum over all containers (init containers too) of the
requests of CPU, memory, ``nvidia.com/gpu`` and ephemeral storage is a soft ``<X>.Allocated``
constraint, the sum of the limits a hard ``<X>.Capacity``; the template's ``glaciation-project.eu/
energy-*`` and ``network-*`` annotations add Energy and Network constraints. Its owner ``makes``
it, except that a Deployment has its ReplicaSets as sub-tasks; its scheduler ``assigns`` it.

Sums add the amounts as floating-point numbers in container order, exactly as the published
exporter does (three 100m requests make 0.30000000000000004 cores), so readers comparing the two
see the same numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kg_exporter.glaciation.names import child_id, is_safe_name
from kg_exporter.glaciation.pods import DEFAULT_SCHEDULER, owners
from kg_exporter.render.quantity import parse_quantity

#: (name, resource key, unit, aspect) of the constraints taken from requests and limits.
_RESOURCES = (
    ("CPU", "cpu", "Core", "Performance"),
    ("GPU", "nvidia.com/gpu", "Core", "Performance"),
    ("RAM", "memory", "Bytes", "Performance"),
    ("Storage", "ephemeral-storage", "Bytes", "Performance"),
)
#: (annotation, constraint, hard?, unit, aspect) of the constraints the template's annotations set.
_ANNOTATIONS = (
    ("glaciation-project.eu/energy-capacity", "Energy.Capacity", True, "Milliwatt", "Power"),
    ("glaciation-project.eu/energy-allocated", "Energy.Allocated", False, "Milliwatt", "Power"),
    ("glaciation-project.eu/network-capacity", "Network.Capacity", True, "Bytes", "Performance"),
    ("glaciation-project.eu/network-allocated", "Network.Allocated", False, "Bytes", "Performance"),
)


def task_facts(obj: Mapping[str, Any], kind: str, name: str) -> dict[str, Any]:
    template = _mapping(_mapping(obj.get("spec")).get("template"))
    pod_spec = _mapping(template.get("spec"))
    containers = [
        c
        for c in (*_list(pod_spec.get("initContainers")), *_list(pod_spec.get("containers")))
        if isinstance(c, Mapping)
    ]
    constraints = []
    for resource, key, unit, aspect in _RESOURCES:
        for field, suffix, hard in (("requests", "Allocated", False), ("limits", "Capacity", True)):
            total = _sum(containers, field, key)
            if total is not None:
                constraints.append(
                    _constraint(name, f"{resource}.{suffix}", hard, total, unit, aspect)
                )
    annotations = _mapping(_mapping(template.get("metadata")).get("annotations"))
    for annotation, description, hard, unit, aspect in _ANNOTATIONS:
        value = parse_quantity(annotations.get(annotation))
        if value is not None:
            constraints.append(
                _constraint(name, description, hard, _number(float(value)), unit, aspect)
            )
    # The API server defaults it; objects read from files may lack it.
    scheduler = pod_spec.get("schedulerName", DEFAULT_SCHEDULER)
    return {
        "id": name,
        "kind": kind,
        "owners": [
            {**owner, "relation": "hasSubTask" if owner["kind"] == "Deployment" else "makes"}
            for owner in owners(obj)
        ],
        "constraints": sorted(constraints, key=lambda c: c["id"]),
        "scheduler": scheduler if is_safe_name(scheduler) else None,
    }


def _sum(containers: list[Mapping[str, Any]], field: str, key: str) -> int | float | None:
    total: float | None = None
    for container in containers:
        amount = parse_quantity(_mapping(_mapping(container.get("resources")).get(field)).get(key))
        if amount is not None:
            total = (0.0 if total is None else total) + float(amount)
    return None if total is None else _number(total)


def _constraint(
    task: str, description: str, hard: bool, value: int | float, unit: str, aspect: str
) -> dict[str, Any]:
    return {
        "id": child_id(task, description),
        "description": description,
        "type": "glc:HardConstraint" if hard else "glc:SoftConstraint",
        "value": value,
        "unit": unit,
        "aspect": aspect,
    }


def _number(value: float) -> int | float:
    # orjson (the sinks' encoder) refuses integers past 64 bits: a sum of hostile "8Ei" limits.
    return int(value) if value.is_integer() and abs(value) < 2**63 else value


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []
