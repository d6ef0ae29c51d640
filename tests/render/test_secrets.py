"""Secrets never reach the graph: canaries planted everywhere a secret can hide."""

from __future__ import annotations

import json

from kg_exporter.render.batch import render_objects
from kg_exporter.render.renderer import Renderer
from tests.conftest import example_objects
from tests.render import fixtures as f

CANARY = "canary-7f3a91"


def secretive_deployment() -> dict:
    obj = f.deployment(availableReplicas=1)
    obj["metadata"]["annotations"] = {
        "kubectl.kubernetes.io/last-applied-configuration": json.dumps(
            {"env": CANARY + "-applied"}
        ),
    }
    container = obj["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [
        {"name": "PASSWORD", "value": CANARY + "-env"},
        {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": CANARY + "-ref", "key": "k"}}},
    ]
    container["envFrom"] = [{"secretRef": {"name": CANARY + "-envfrom"}}]
    container["args"] = ["--password", CANARY + "-args"]
    obj["spec"]["template"]["spec"]["volumes"] = [
        {"name": "creds", "secret": {"secretName": CANARY + "-volume"}},
        {"name": "proj", "projected": {"sources": [{"secret": {"name": CANARY + "-projected"}}]}},
    ]
    obj["spec"]["template"]["spec"]["initContainers"] = [
        {"name": "init", "image": "busybox", "env": [{"name": "X", "value": CANARY + "-init"}]}
    ]
    return obj


def test_no_secret_reaches_any_subgraph(renderer: Renderer) -> None:
    objects = [secretive_deployment(), {"kind": "Secret", "stringData": {"p": CANARY + "-secret"}}]
    output = json.dumps(
        [s.document for s in render_objects(((o, "test") for o in objects), renderer)
         if hasattr(s, "document")]
    )  # fmt: skip
    assert "nginx" in output  # the deployment did render
    assert CANARY not in output


def test_examples_leak_nothing(renderer: Renderer) -> None:
    output = json.dumps(
        [getattr(s, "document", None) for s in render_objects(((o, "x") for o in example_objects()), renderer)]
    )  # fmt: skip
    assert "do-not-export" not in output
    assert "last-applied-configuration" not in output
