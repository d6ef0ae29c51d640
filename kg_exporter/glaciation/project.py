"""A Kubernetes object → (state key, facts) for the snapshot, or None when it cannot be named.

Only the facts the templates print are kept per object (a few hundred bytes, not the object), so
the profile's memory grows with the number of objects, not with their size.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from kg_exporter.glaciation.names import is_safe_name, pod_id
from kg_exporter.glaciation.nodes import node_facts
from kg_exporter.glaciation.pods import pod_facts
from kg_exporter.glaciation.tasks import task_facts
from kg_exporter.yamltext import safe_load

UNKNOWN_CLUSTER = "Unknown"


def project(kind: str, obj: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The key of the object in its table and its facts; None when its name (or namespace) is
    not a Kubernetes name, which the caller logs and counts."""
    named = _named(kind, obj)
    if named is None:
        return None
    key, namespace, name = named
    if kind == "Node":
        return key, node_facts(obj, name)
    if kind == "Pod":
        return key, pod_facts(obj, namespace, name)
    return key, task_facts(obj, kind, name)


def key_of(kind: str, obj: Mapping[str, Any]) -> str | None:
    """The table key of an object (for a deletion, whose object may be partial)."""
    named = _named(kind, obj)
    return None if named is None else named[0]


def _named(kind: str, obj: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """(key, namespace, name); nodes have the namespace ""."""
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    name, namespace = meta.get("name"), meta.get("namespace")
    if not is_safe_name(name):
        return None
    if kind == "Node":
        return name, "", name
    if not is_safe_name(namespace):
        return None
    key = pod_id(namespace, name) if kind == "Pod" else f"{kind}/{namespace}/{name}"
    return key, namespace, name


def cluster_name_of(kubeadm_config: Mapping[str, Any] | None) -> str:
    """``clusterName`` of the kube-system/kubeadm-config ConfigMap, as the published exporter names
    the cluster; ``Unknown`` without one."""
    data = kubeadm_config.get("data") if isinstance(kubeadm_config, Mapping) else None
    text = data.get("ClusterConfiguration") if isinstance(data, Mapping) else None
    if not isinstance(text, str):
        return UNKNOWN_CLUSTER
    try:
        config = safe_load(text)
    except yaml.YAMLError:
        return UNKNOWN_CLUSTER
    name = config.get("clusterName") if isinstance(config, dict) else None
    return name if is_safe_name(name) else UNKNOWN_CLUSTER
