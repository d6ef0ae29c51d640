"""Secrets never reach the graph, whatever the kind: canaries planted in every secret-bearing field
of every bundled kind's example (container env and envFrom in every pod template, secret volumes in
pod templates and MiniCluster containers, a MetricSet's volume-secret addons, a MiniCluster's
`environment` and `secrets`, the ORAS operator's `oras-env`, the last-applied annotation)."""

from __future__ import annotations

import json
from typing import Any

from kg_exporter.manifests import Manifest, read_manifests
from kg_exporter.render.batch import render_objects
from kg_exporter.render.renderer import Renderer, Subgraph
from tests.conftest import EXAMPLES

CANARY = "canary-5e1d0c"
ORAS_ENV = "oras.converged-computing.github.io/oras-env"


def plant(value: Any) -> None:
    """Canaries wherever a secret may sit, at any depth (pod templates nest differently per kind)."""
    if isinstance(value, list):
        for item in value:
            plant(item)
        return
    if not isinstance(value, dict):
        return
    for container in value.get("containers", []) if isinstance(value.get("containers"), list) else []:
        if isinstance(container, dict):
            container["env"] = [{"name": "PASSWORD", "value": CANARY + "-env"}]
            container["envFrom"] = [{"secretRef": {"name": CANARY + "-envfrom"}}]
            container["environment"] = {"TOKEN": CANARY + "-environment"}
            container["secrets"] = {"registry": {"name": CANARY + "-secrets", "key": "k"}}
    if isinstance(value.get("volumes"), list):  # a pod spec's secret volume
        value["volumes"].append({"name": "c", "secret": {"secretName": CANARY + "-volume"}})
    elif isinstance(value.get("volumes"), dict):  # a MiniCluster container's volumes
        value["volumes"]["c"] = {"secretName": CANARY + "-mc-volume", "path": "/c"}
    if isinstance(value.get("addons"), list):  # a MetricSet's volume addons
        options = {"name": "c", "secretName": CANARY + "-addon", "path": "/c"}
        value["addons"].append({"name": "volume-secret", "options": options})
    if isinstance(value.get("annotations"), dict):
        value["annotations"][ORAS_ENV] = CANARY + "-oras-env"
        value["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] = CANARY
    for child in value.values():
        plant(child)


def test_no_kind_lets_a_secret_through(renderer: Renderer) -> None:
    objects = []
    for m in read_manifests([EXAMPLES / "kinds"]):
        if isinstance(m, Manifest):
            m.obj.setdefault("metadata", {}).setdefault("annotations", {})
            plant(m.obj)
            objects.append((m.obj, m.where))
    rendered = [s for s in render_objects(objects, renderer) if isinstance(s, Subgraph)]
    kinds = {s.document["@graph"][0].get("kgx:kind") for s in rendered if s.kind.value == "workload"}
    assert kinds == {"DaemonSet", "CronJob", "Job", "JobSet", "MetricSet", "MiniCluster", "Ensemble"}
    output = json.dumps([s.document for s in rendered])
    assert CANARY not in output
    assert "oras-credentials" not in output  # the example's own oras-env secret name
    assert "lammps-certs" not in output  # the example MetricSet's volume-secret addon
    assert "lammps-data" in output  # while its volume-pvc addon is data it depends on
