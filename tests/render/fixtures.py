"""Kubernetes objects the render tests share: small, and each exercising one mapping rule."""

from __future__ import annotations

from typing import Any


def deployment(name: str = "web", namespace: str = "shop", **status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": "uid-" + name,
            "creationTimestamp": "2026-11-01T09:00:00Z",
            "labels": {"app.kubernetes.io/name": "storefront"},
        },
        "spec": {
            "replicas": 2,
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "nginx",
                            "image": "nginx:1.27",
                            "resources": {"requests": {"cpu": "250m", "memory": "128Mi"}},
                        }
                    ]
                }
            },
        },
        "status": status,
    }


def statefulset(name: str = "db", namespace: str = "shop", ready: int = 1) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": 2,
            "template": {"spec": {"containers": [{"name": "pg", "image": "postgres:16"}]}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"}}],
        },
        "status": {"readyReplicas": ready},
    }


def job(name: str = "report", namespace: str = "shop", **status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"template": {"spec": {"containers": [{"name": "r", "image": "r:1"}]}}},
        "status": status,
    }


def node(name: str = "worker-1", gpus: int = 0) -> dict[str, Any]:
    capacity: dict[str, str] = {"cpu": "8", "memory": "32Gi"}
    if gpus:
        capacity["nvidia.com/gpu"] = str(gpus)
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "creationTimestamp": "2026-09-01T08:00:00Z"},
        "status": {
            "capacity": capacity,
            "allocatable": capacity,
            "conditions": [{"type": "Ready", "status": "True"}],
            "nodeInfo": {"architecture": "amd64", "kubeletVersion": "v1.31.2"},
        },
    }
