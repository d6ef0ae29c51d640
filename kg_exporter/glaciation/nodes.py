"""A Node object → what the snapshot says of it: status, sub-resources, capacities.

As the published exporter: every node is a ``KubernetesWorkerNode`` (control-plane nodes too), with
the five sub-resources CPU, GPU, RAM, Storage (described ``EphemeralStorage``) and Network; the
``*.Capacity`` measurements are the node's *allocatable* amounts (what pods can get), made by the
``ResourceSpecification`` (the GPU's by the NVIDIA device plugin); the
``glaciation-project.eu/node-energy-index`` annotation is the node's ``Energy.Index``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kg_exporter.glaciation.names import child_id
from kg_exporter.render.quantity import as_json_number, parse_quantity

ENERGY_INDEX_ANNOTATION = "glaciation-project.eu/node-energy-index"

#: Sub-resource → its description.
SUBRESOURCES = {
    "CPU": "CPU",
    "GPU": "GPU",
    "Network": "Network",
    "RAM": "RAM",
    "Storage": "EphemeralStorage",
}
#: (sub-resource, allocatable key, unit, measuring resource) of the capacity measurements.
_CAPACITIES = (
    ("CPU", "cpu", "Core", "ResourceSpecification"),
    ("GPU", "nvidia.com/gpu", "Core", "NVidiaPlugin"),
    ("RAM", "memory", "Bytes", "ResourceSpecification"),
    ("Storage", "ephemeral-storage", "Bytes", "ResourceSpecification"),
)


def node_facts(obj: Mapping[str, Any], name: str) -> dict[str, Any]:
    """Facts of a Node: ``id``, ``status`` ({description, start}), ``capacities`` (values
    without a timestamp: the snapshot stamps them) and ``energy_index``."""
    status = _mapping(obj.get("status"))
    allocatable = _mapping(status.get("allocatable"))
    capacities = []
    for subresource, key, unit, source in _CAPACITIES:
        value = parse_quantity(allocatable.get(key))
        if value is not None:
            capacities.append(
                {
                    "resource": child_id(name, subresource),
                    "property": f"{subresource}.Capacity",
                    "value": as_json_number(value),
                    "unit": unit,
                    "source": source,
                }
            )
    annotations = _mapping(_mapping(obj.get("metadata")).get("annotations"))
    index = parse_quantity(annotations.get(ENERGY_INDEX_ANNOTATION))
    if index is not None:
        capacities.append(
            {
                "resource": name,
                "property": "Energy.Index",
                "value": as_json_number(index),
                "unit": "Milliwatt",
                "source": "ResourceSpecification",
            }
        )
    return {
        "id": name,
        "status": _status(status.get("conditions")),
        "subresources": [
            {"id": child_id(name, sub), "name": sub, "description": description}
            for sub, description in SUBRESOURCES.items()
        ],
        "capacities": capacities,
    }


def _status(conditions: object) -> dict[str, Any]:
    for condition in conditions if isinstance(conditions, list) else ():
        if isinstance(condition, Mapping) and condition.get("type") == "Ready":
            ready = condition.get("status") == "True"
            since = condition.get("lastTransitionTime")
            return {
                "description": "Ready" if ready else "NotReady",
                "start": since if isinstance(since, str) else None,
            }
    return {"description": "Unknown", "start": None}


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
