"""Conformance with the published GLACIATION exporter's own golden fixtures.

For each fixture, the profile renders the same Kubernetes objects (and metric values) and the
result must be the same RDF graph as the expected JSON-LD (pyoxigraph parses both; no fixture has
blank nodes, so equal triple sets is isomorphism). Nothing is ignored: the only run-dependent values
in the fixtures are timestamps taken from the exporter's clock (123, 1000, 0 = 1970-01-01T00:00:00Z)
and the cluster's API address used as id base (https://127.0.0.1:6443/, https://10.14.1.160:6443/#),
and the tests pass exactly those as the profile's clock and ``resource_base``.

Inputs that the fixtures keep in the exporter's test code rather than in files are rebuilt from
the expected output and said so: the metric values of ``transform-metrics/`` and the dangling
resources of ``termination.basic``. ``simple_node.jsonld`` is the exporter's JSON-LD serializer
test (hand-made ``glc:node1``/``glc:cpu`` objects, no Kubernetes input), so there is nothing of ours
to render for it. The ``ms_*.yaml`` Metadata Service answers of ``snapshot/minimal`` list the
resources already in the service, which equal the cluster's there: nothing ended, and the profile
learns that from its watches instead.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from kg_exporter.glaciation.config import GlaciationSettings
from kg_exporter.glaciation.measurements import Aggregation, MeasurementQuery, parse_measurements
from kg_exporter.glaciation.project import cluster_name_of, project
from kg_exporter.glaciation.render import SnapshotRenderer
from kg_exporter.glaciation.snapshot import (
    ClusterState,
    Sample,
    group_measurements,
    measurement,
    render_snapshot,
)
from tests.glaciation.peers import FIXTURES, require
from tests.glaciation.rdf import assert_isomorphic

TRANSFORM = {
    "resource_base": "https://127.0.0.1:6443/",
    "k8s_namespace": "http://glaciation-project.eu/model/k8s/",
}
SNAPSHOT = {
    "resource_base": "https://10.14.1.160:6443/#",
    "k8s_namespace": "http://glaciation-project.eu/model/k8s/#",
}


def fixture(relative: str) -> Path:
    return require(FIXTURES / relative)


def renderer(base: dict[str, str]) -> SnapshotRenderer:
    return SnapshotRenderer(GlaciationSettings(**base))


def load(relative: str) -> Any:
    path = fixture(relative)
    text = path.read_text()
    return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)


def state_of(objects: list[dict[str, Any]], cluster: str = "Unknown") -> ClusterState:
    state = ClusterState(cluster_name=cluster)
    for obj in objects:
        kind = obj["kind"]
        projected = project(kind, obj)
        assert projected is not None, obj
        key, facts = projected
        table = state.nodes if kind == "Node" else state.pods if kind == "Pod" else state.tasks
        table[key] = facts
    return state


@pytest.mark.parametrize("name", ["worker_node", "master_node"])
def test_node(name: str) -> None:
    r = renderer(TRANSFORM)
    state = state_of([load(f"transform-k8s/{name}.json")])
    measurements, _ = group_measurements(state, [], [], now_ms=123)
    (node,) = state.nodes.values()
    assert_isomorphic(
        r.document(r.node(node, measurements)), fixture(f"transform-k8s/{name}.jsonld")
    )


@pytest.mark.parametrize("name", ["pod1", "pod2", "pod3", "workload_pod"])
def test_pod(name: str) -> None:
    r = renderer(TRANSFORM)
    state = state_of([load(f"transform-k8s/{name}.json")])
    (pod,) = state.pods.values()
    assert_isomorphic(r.document(r.pod(pod, {})), fixture(f"transform-k8s/{name}.jsonld"))


@pytest.mark.parametrize("name", ["deployment", "statefulset", "replicaset"])
def test_task(name: str) -> None:
    r = renderer(TRANSFORM)
    state = state_of([load(f"transform-k8s/{name}.json")])
    (task,) = state.tasks.values()
    assert_isomorphic(r.document(r.task(task)), fixture(f"transform-k8s/{name}.jsonld"))


def test_cluster() -> None:
    r = renderer(TRANSFORM)
    name = cluster_name_of(load("transform-k8s/cluster.kubeadm-config.json"))
    nodes = [n["metadata"]["name"] for n in load("transform-k8s/cluster.nodes.json")]
    assert_isomorphic(r.document(r.cluster(name, nodes)), fixture("transform-k8s/cluster.jsonld"))


def test_termination() -> None:
    # The dangling resources the exporter's test feeds in, rebuilt from its expected output; its
    # clock stands at 0.
    end = "1970-01-01T00:00:00Z"
    ended = [
        {
            "id": "glaciation-test-worker-dangling",
            "description": "KubernetesWorkerNode",
            "state": "Unknown",
            "end": end,
        },
        {"id": "system.coredns-dangling", "description": "Pod", "state": "Unknown", "end": end},
        {
            "id": "system.coredns-2.coredns-dangling",
            "description": "Container",
            "state": "terminated",
            "end": end,
        },
    ]
    r = renderer(TRANSFORM)
    assert_isomorphic(
        r.document(r.termination(ended)), fixture("transform-k8s/termination.basic.jsonld")
    )
    assert_isomorphic(
        r.document(r.termination([])), fixture("transform-k8s/termination.empty.jsonld")
    )


@pytest.mark.parametrize("resource", ["worker1", "pod1"])
def test_metrics(resource: str) -> None:
    # The two metric values the exporter's test feeds in, rebuilt from its expected output: a
    # CPU usage on the CPU sub-resource (a node's; a pod carries its own) at 17100500 and an
    # Energy.Usage averaged over 300 s at 123, both 42 from cAdvisor.
    cpu = MeasurementQuery(
        "Usage", "CPU.Usage", "coreseconds", "cAdvisor", "test", subresource="CPU"
    )
    energy = MeasurementQuery(
        "Energy.Usage",
        "Energy.Usage",
        "milliwatt",
        "cAdvisor",
        "test",
        aggregation=Aggregation(300, "average"),
    )
    carrier = f"{resource}.CPU" if resource == "worker1" else resource
    measurements: dict[str, list[dict[str, Any]]] = {}
    measurements.setdefault(carrier, []).append(measurement(cpu, resource, 42, 17100500))
    measurements.setdefault(resource, []).append(measurement(energy, resource, 42, 123))
    r = renderer(TRANSFORM)
    name = "node" if resource == "worker1" else "pod1"
    assert_isomorphic(
        r.document(r.measurements(measurements)), fixture(f"transform-metrics/{name}.jsonld")
    )


def samples(relative: str) -> list[Sample]:
    out = []
    for entry in load(relative):
        config = parse_measurements({"builder": {"queries": {"node_queries": [entry["query"]]}}})
        value = entry["value"]
        out.append(
            Sample(config.node_queries[0], value["resource_id"], value["value"], value["timestamp"])
        )
    return out


def test_snapshot_minimal() -> None:
    objects = [
        *load("snapshot/minimal/k8s_nodes.yaml"),
        *load("snapshot/minimal/k8s_pods.yaml"),
        *load("snapshot/minimal/k8s_deployments.yaml"),
        *load("snapshot/minimal/k8s_replicasets.yaml"),
    ]
    state = state_of(objects, cluster_name_of(load("snapshot/minimal/k8s_cluster.yaml")))
    measurements, unknown = group_measurements(
        state,
        samples("snapshot/minimal/metric_nodes.yaml"),
        samples("snapshot/minimal/metric_pods.yaml"),
        now_ms=1000,
    )
    assert unknown == 0
    document = render_snapshot(renderer(SNAPSHOT), state, measurements)
    assert_isomorphic(
        document, fixture("snapshot/minimal/slice_glaciation-test-master01_80.jsonld")
    )


def test_snapshot_empty() -> None:
    document = render_snapshot(renderer(SNAPSHOT), ClusterState(), {})
    assert_isomorphic(document, fixture("snapshot/empty/slice_127.0.0.1_80.jsonld"))
