"""The object→document mapping as data: one spec per watched workload kind.

Adding a kind is one entry here: its API group and resource (for the watch), its start/stop rule, the
GLACIATION class its workload node gets, and how its pods are named (for PromQL/LogQL pod matchers).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kg_exporter.state.lifecycle import (
    Observation,
    observe_deployment,
    observe_job,
    observe_statefulset,
)


@dataclass(frozen=True, slots=True)
class WorkloadKind:
    kind: str
    group: str
    #: Versions this entry can read, preferred first; discovery picks the first one served.
    versions: tuple[str, ...]
    plural: str
    observe: Callable[[Mapping[str, Any]], Observation]
    #: Class in the GLACIATION Kubernetes extension.
    type_iri: str
    #: RE2 suffix matching this kind's pod names after the (escaped) workload name.
    pod_suffix: str
    namespaced: bool = True


WORKLOAD_KINDS: dict[str, WorkloadKind] = {
    spec.kind: spec
    for spec in (
        # Pods of a Deployment are <name>-<pod-template-hash>-<5 random>.
        WorkloadKind("Deployment", "apps", ("v1",), "deployments", observe_deployment,
                     "k8s:DeploymentWorkload", "-[a-z0-9]{1,10}-[a-z0-9]{5}"),
        # Pods of a StatefulSet are <name>-<ordinal>.
        WorkloadKind("StatefulSet", "apps", ("v1",), "statefulsets", observe_statefulset,
                     "k8s:StatefulSetWorkload", "-[0-9]+"),
        # Pods of a Job are <name>-<5 random>, or <name>-<index>-<5 random> when indexed.
        WorkloadKind("Job", "batch", ("v1",), "jobs", observe_job,
                     "k8s:JobWorkload", "(-[0-9]+)?-[a-z0-9]{5}"),
    )
}  # fmt: skip

NODE_KIND = "Node"
