"""Objects whose every rendered subgraph must validate; reusable from other tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kg_exporter.manifests import Manifest, read_manifests
from kg_exporter.render.batch import render_objects
from kg_exporter.render.facts import Lifecycle
from kg_exporter.render.renderer import Renderer, Subgraph
from kg_exporter.state.lifecycle import Outcome, Phase
from tests.conftest import EXAMPLES

KIND_EXAMPLES = EXAMPLES / "kinds"

CREATED = "2026-03-01T08:00:00Z"


def deployment() -> dict[str, Any]:
    """Labels, annotations (one naming data dependencies), a claim, a node, init container, GPU."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "uid": "6f1c2f0e-0000-4000-8000-000000000001",
            "creationTimestamp": CREATED,
            "labels": {"app.kubernetes.io/name": "storefront", "tier": "frontend"},
            "annotations": {
                "kg-exporter.io/data-dependencies": "https://data.example.org/catalog/42, s3://b/k",
                "kubectl.kubernetes.io/last-applied-configuration": '{"secret": "x"}',
                "note": 'quotes " braces } newline \n',
            },
        },
        "spec": {
            "replicas": 3,
            "template": {
                "spec": {
                    "nodeName": "worker-1",
                    "initContainers": [{"name": "migrate", "image": "migrate:2"}],
                    "containers": [
                        {
                            "name": "nginx",
                            "image": "nginx:1.27",
                            "resources": {
                                "requests": {"cpu": "250m", "memory": "128Mi"},
                                "limits": {"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": "1"},
                            },
                        }
                    ],
                    "volumes": [
                        {"name": "media", "persistentVolumeClaim": {"claimName": "media"}},
                        {"name": "token", "secret": {"secretName": "token"}},
                    ],
                }
            },
        },
        "status": {
            "availableReplicas": 2,
            "conditions": [
                {
                    "type": "Available",
                    "status": "True",
                    "lastTransitionTime": "2026-03-01T08:00:30Z",
                }
            ],
        },
    }


def scaled_to_zero() -> dict[str, Any]:
    obj = deployment()
    obj["metadata"] = {"name": "idle", "namespace": "shop"}
    obj["spec"]["replicas"] = 0
    obj["status"] = {}
    return obj


def statefulset() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db", "namespace": "shop", "creationTimestamp": CREATED},
        "spec": {
            "replicas": 3,
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "pg",
                            "image": "postgres:16",
                            "resources": {"requests": {"ephemeral-storage": "2Gi"}},
                        }
                    ]
                }
            },
            "volumeClaimTemplates": [{"metadata": {"name": "data"}}, {"metadata": {"name": "wal"}}],
        },
        "status": {"readyReplicas": 3},
    }


def job(condition: str | None) -> dict[str, Any]:
    status: dict[str, Any] = {"startTime": "2026-03-01T09:00:00Z"}
    if condition is None:
        status["active"] = 1
    else:
        status["conditions"] = [
            {"type": condition, "status": "True", "lastTransitionTime": "2026-03-01T09:05:00Z"}
        ]
        if condition == "Complete":
            status["completionTime"] = "2026-03-01T09:04:59Z"
    name = {None: "report", "Complete": "report-done", "Failed": "report-failed"}[condition]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": "batch", "creationTimestamp": CREATED},
        "spec": {"template": {"spec": {"containers": [{"name": "r", "image": "report:1"}]}}},
        "status": status,
    }


def gpu_node() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": "gpu-1",
            "uid": "6f1c2f0e-0000-4000-8000-000000000002",
            "creationTimestamp": CREATED,
            "labels": {"kubernetes.io/arch": "amd64", "nvidia.com/gpu.present": "true"},
        },
        "status": {
            "capacity": {"cpu": "32", "memory": "256Gi", "nvidia.com/gpu": "4", "pods": "110"},
            "allocatable": {"cpu": "31500m", "memory": "250Gi", "nvidia.com/gpu": "4"},
            "addresses": [
                {"type": "InternalIP", "address": "10.0.0.7"},
                {"type": "Hostname", "address": "gpu-1"},
            ],
            "conditions": [{"type": "Ready", "status": "True"}],
            "nodeInfo": {
                "architecture": "amd64",
                "operatingSystem": "linux",
                "osImage": "Ubuntu 24.04 LTS",
                "kubeletVersion": "v1.31.2",
            },
        },
    }


def bare_node() -> dict[str, Any]:
    return {"kind": "Node", "metadata": {"name": "worker-1"}, "status": {}}


def kind_examples(renderer: Renderer) -> tuple[Subgraph, ...]:
    objects = [(m.obj, m.where) for m in read_manifests([KIND_EXAMPLES]) if isinstance(m, Manifest)]
    rendered = render_objects(objects, renderer, include_glaciation_node=False)
    return tuple(s for s in rendered if isinstance(s, Subgraph))


def cases() -> dict[str, Callable[[Renderer], tuple[Subgraph, ...]]]:
    """name → what to render; every subgraph each returns must conform."""
    started, ended = "2026-03-01T08:00:30Z", "2026-03-02T08:00:00Z"
    return {
        "deployment": lambda r: r.workload(deployment()),
        "deployment-deleted": lambda r: r.workload(
            deployment(), lifecycle=Lifecycle(Phase.STOPPED, started, ended)
        ),
        "deployment-scaled-to-zero": lambda r: r.workload(scaled_to_zero()),
        "statefulset-with-claims": lambda r: r.workload(statefulset()),
        "job-running": lambda r: r.workload(job(None)),
        "job-complete": lambda r: r.workload(job("Complete")),
        "job-failed": lambda r: r.workload(job("Failed")),
        "job-failed-lifecycle": lambda r: r.workload(
            job(None), lifecycle=Lifecycle(Phase.STOPPED, started, ended, Outcome.FAILED)
        ),
        "gpu-node": lambda r: r.node(gpu_node()),
        "bare-node": lambda r: r.node(bare_node()),
        "node-gone": lambda r: r.node(gpu_node(), present=False),
        "glaciation-node": lambda r: r.glaciation_node(["gpu-1", "worker-1"]),
        # Every bundled kind beyond the built-in three, owners and children as operators make them.
        "bundled-kinds": kind_examples,
        "empty-glaciation-node": lambda r: r.glaciation_node([]),
    }


def render_all(renderer: Renderer) -> list[Subgraph]:
    return [s for make in cases().values() for s in make(renderer)]
