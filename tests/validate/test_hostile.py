"""Whatever names, labels and annotations a cluster holds, the rendered documents stay valid:
every IRI is absolute and encoded, every value a literal, no node loses its @id."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kg_exporter.render.renderer import Renderer
from kg_exporter.settings import load_settings
from kg_exporter.validate import assert_valid

text = st.text(min_size=1, max_size=24)
mapping = st.dictionaries(text, st.text(max_size=24), max_size=3)


def _workload(kind: str, name: str, namespace: str, labels: Any, annotations: Any) -> Any:
    return {
        "kind": kind,
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels,
            "annotations": annotations,
        },
        "spec": {
            "replicas": 1,
            "template": {
                "spec": {
                    "nodeName": name,
                    "containers": [
                        {"name": name, "image": namespace, "resources": {"limits": labels}}
                    ],
                    "volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": name}}],
                }
            },
            "volumeClaimTemplates": [{"metadata": {"name": namespace}}],
        },
        "status": {"availableReplicas": 1, "readyReplicas": 1, "active": 1},
    }


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(["Deployment", "StatefulSet", "Job"]),
    name=text,
    namespace=text,
    labels=mapping,
    annotations=mapping,
)
def test_hostile_workloads_render_valid_documents(
    kind: str, name: str, namespace: str, labels: Any, annotations: Any
) -> None:
    renderer = Renderer(load_settings())
    for subgraph in renderer.workload(_workload(kind, name, namespace, labels, annotations)):
        assert_valid(subgraph)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=text, labels=mapping, address=text)
def test_hostile_nodes_render_valid_documents(name: str, labels: Any, address: str) -> None:
    renderer = Renderer(load_settings())
    node = {
        "kind": "Node",
        "metadata": {"name": name, "labels": labels},
        "status": {
            "capacity": labels,
            "addresses": [{"type": "Hostname", "address": address}],
            "nodeInfo": {"osImage": address},
        },
    }
    for subgraph in (*renderer.node(node), *renderer.glaciation_node([name, address])):
        assert_valid(subgraph)
