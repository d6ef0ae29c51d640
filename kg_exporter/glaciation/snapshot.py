"""What one snapshot holds, assembled: the cluster's state + the sampled values → one document.

Pure: the caller passes the time (``now_ms``, the stamp of the Node-derived measurements, as the
published exporter stamps them with its tick) and the samples (each stamped with the time
Prometheus evaluated it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kg_exporter.glaciation.measurements import MeasurementQuery
from kg_exporter.glaciation.names import child_id, measurement_id
from kg_exporter.glaciation.render import SnapshotRenderer


@dataclass(frozen=True, slots=True)
class Sample:
    """One value a measurement query returned for one resource (node name or namespace.pod)."""

    query: MeasurementQuery
    resource: str
    value: float
    timestamp_ms: int


@dataclass(slots=True)
class ClusterState:
    """Facts of every node, pod and task (see nodes.py, pods.py, tasks.py), by id."""

    cluster_name: str = "Unknown"
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    pods: dict[str, dict[str, Any]] = field(default_factory=dict)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)


def measurement(
    query: MeasurementQuery, resource: str, value: float | int, timestamp_ms: int
) -> dict[str, Any]:
    """A measurement of ``resource`` (its id names that resource, not the sub-resource that
    carries it, as the published exporter names them)."""
    aggregation = None
    if query.aggregation is not None:
        aggregation = {
            "function": query.aggregation.function,
            "start": timestamp_ms - query.aggregation.period_seconds * 1000,
            "end": timestamp_ms,
        }
    return {
        "id": measurement_id(resource, query.property, timestamp_ms),
        "property": query.property,
        "unit": query.unit,
        "source": query.source,
        "value": value,
        "timestamp": timestamp_ms,
        "aggregation": aggregation,
    }


def capacity_measurement(capacity: Mapping[str, Any], node: str, now_ms: int) -> dict[str, Any]:
    return {
        "id": measurement_id(node, capacity["property"], now_ms),
        "property": capacity["property"],
        "unit": capacity["unit"],
        "source": capacity["source"],
        "value": capacity["value"],
        "timestamp": now_ms,
        "aggregation": None,
    }


def node_sample_target(sample: Sample) -> str:
    """The resource that carries a node sample: the sub-resource it names, else the node."""
    sub = sample.query.subresource
    return child_id(sample.resource, sub) if sub else sample.resource


def group_measurements(
    state: ClusterState, node_samples: Iterable[Sample], pod_samples: Iterable[Sample], now_ms: int
) -> tuple[dict[str, list[dict[str, Any]]], int]:
    """Measurements by the id of the resource that carries them; and how many samples named a
    resource the cluster does not have (dropped: a pod that ended still shows in a 5m rate)."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for node in state.nodes.values():
        for capacity in node["capacities"]:
            grouped.setdefault(capacity["resource"], []).append(
                capacity_measurement(capacity, node["id"], now_ms)
            )
    unknown = 0
    for sample in node_samples:
        if sample.resource not in state.nodes:
            unknown += 1
            continue
        grouped.setdefault(node_sample_target(sample), []).append(
            measurement(sample.query, sample.resource, sample.value, sample.timestamp_ms)
        )
    for sample in pod_samples:
        if sample.resource not in state.pods:
            unknown += 1
            continue
        grouped.setdefault(sample.resource, []).append(
            measurement(sample.query, sample.resource, sample.value, sample.timestamp_ms)
        )
    for items in grouped.values():
        items.sort(key=lambda m: m["id"])
    return grouped, unknown


def render_snapshot(
    renderer: SnapshotRenderer,
    state: ClusterState,
    measurements: Mapping[str, list[dict[str, Any]]],
    ended: Iterable[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The whole snapshot document."""
    objects: list[dict[str, Any]] = []
    objects += renderer.cluster(state.cluster_name, state.nodes)
    for node_id in sorted(state.nodes):
        objects += renderer.node(state.nodes[node_id], measurements)
    for pod_id in sorted(state.pods):
        objects += renderer.pod(state.pods[pod_id], measurements)
    for task_id in sorted(state.tasks):
        objects += renderer.task(state.tasks[task_id])
    objects += renderer.termination(ended)
    return renderer.document(objects)
