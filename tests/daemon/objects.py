"""Kubernetes objects for the daemon tests, shaped as the API server (and FakeKube) accepts them."""

from __future__ import annotations

from typing import Any

from kg_exporter.kinds.registry import bundled_entries
from kg_exporter.kinds.spec import compile_entry

Obj = dict[str, Any]


def _pod_template(name: str) -> Obj:
    return {
        "metadata": {"labels": {"app": name}},
        "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}]},
    }


def deployment(name: str, ns: str = "default", *, replicas: int = 1, **meta: Any) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, **meta},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": _pod_template(name),
        },
    }


def statefulset(name: str, ns: str = "default", *, replicas: int = 1) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "replicas": replicas,
            "serviceName": name,
            "selector": {"matchLabels": {"app": name}},
            "template": _pod_template(name),
        },
    }


def job(name: str, ns: str = "default") -> Obj:
    template = _pod_template(name)
    template["spec"]["restartPolicy"] = "Never"
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"template": template},
    }


def node(name: str, *, ready: bool = True) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "status": {
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "capacity": {"cpu": "4", "memory": "16Gi"},
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": "b",
                "containerRuntimeVersion": "containerd://1.7",
                "kernelVersion": "6.1",
                "kubeProxyVersion": "v1.31.0",
                "kubeletVersion": "v1.31.0",
                "machineID": "m",
                "operatingSystem": "linux",
                "osImage": "Debian 12",
                "systemUUID": "s",
            },
        },
    }


JOB_STARTED = {"startTime": "2026-11-01T10:00:00Z", "active": 1}


def job_finished(outcome: str) -> Obj:
    condition = "Complete" if outcome == "succeeded" else "Failed"
    status: Obj = {
        "startTime": "2026-11-01T10:00:00Z",
        "active": 0,
        "conditions": [
            {
                "type": condition,
                "status": "True",
                "lastTransitionTime": "2026-11-01T10:05:00Z",
            }
        ],
    }
    if outcome == "succeeded":
        status["completionTime"] = "2026-11-01T10:05:00Z"
        status["succeeded"] = 1
    else:
        status["failed"] = 1
    return status


#: A custom kind (no CRD of it is bundled) whose objects carry a pod template and replica counts,
#: as many CRDs do; it borrows the Deployment's rules: the tests using it are about discovery and
#: RBAC, not lifecycle rules. ``WIDGET_ENTRY`` is how a user configures it (settings ``kinds:``).
WIDGET_ENTRY = next(e for e in bundled_entries() if e.kind == "Deployment").model_copy(
    update={
        "kind": "Widget",
        "group": "example.com",
        "versions": ("v1beta1", "v1alpha1"),
        "plural": "widgets",
    }
)
WIDGET = compile_entry(WIDGET_ENTRY)
