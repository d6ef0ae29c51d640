"""Hostile values cannot break a document, and come out exactly as they went in."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kg_exporter.render.renderer import Renderer
from kg_exporter.settings import load_settings
from kg_exporter.validate import to_graph
from tests.render import fixtures as f
from tests.render.graph import of_type, one

NASTY = [
    '"',
    "'",
    "{",
    "}",
    "{{",
    "}}",
    "{%",
    "%}",
    "\\",
    "\n",
    "\r\n",
    "\t",
    "\u2028",
    "@id",
    "<>",
]
# NUL-free Unicode (no surrogates: they cannot be encoded), salted with the characters that break
# naive templating, and occasionally 10,000 characters long.
HOSTILE = st.one_of(
    st.text(st.characters(blacklist_characters="\x00", blacklist_categories=["Cs"]), min_size=1),
    st.lists(st.sampled_from(NASTY), min_size=1, max_size=8).map("".join),
    st.builds(lambda s: (s * 10_000)[:10_000], st.sampled_from(['"}', "{{ x }}", "é\\"])),
)
RENDERER = Renderer(load_settings())


def hostile_deployment(name: str, namespace: str, label: str, annotation: str) -> dict[str, Any]:
    obj = f.deployment(name=name, namespace=namespace, availableReplicas=1)
    obj["metadata"]["labels"] = {"app": label, label[:63]: "x"}
    obj["metadata"]["annotations"] = {"note": annotation}
    obj["spec"]["template"]["spec"]["containers"][0]["image"] = label
    return obj


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(HOSTILE, HOSTILE, HOSTILE, HOSTILE)
def test_workload_documents_survive_hostile_values(
    name: str, namespace: str, label: str, annotation: str
) -> None:
    workload, telemetry = RENDERER.workload(hostile_deployment(name, namespace, label, annotation))
    for subgraph in (workload, telemetry):
        # Valid JSON on the wire, and valid JSON-LD yielding triples (to_graph refuses otherwise).
        text = json.dumps(subgraph.document)
        assert json.loads(text) == subgraph.document
        assert len(to_graph(subgraph.document)) > 0
    main = one(workload.document, "k8s:Workload")
    assert main["kgx:name"] == name
    assert main["kgx:namespace"] == namespace
    labels = {n["kgx:key"]: n["kgx:value"] for n in of_type(workload.document, "kgx:Label")}
    assert labels["app"] == label
    notes = {n["kgx:key"]: n["kgx:value"] for n in of_type(workload.document, "kgx:Annotation")}
    assert notes == {"note": annotation}
    assert one(workload.document, "k8s:Container")["k8s:hasContainerImage"] == label


@settings(max_examples=40, deadline=None)
@given(HOSTILE, HOSTILE)
def test_node_documents_survive_hostile_values(name: str, label: str) -> None:
    obj = f.node(name=name)
    obj["metadata"]["labels"] = {"zone": label}
    obj["status"]["nodeInfo"]["osImage"] = label
    node, telemetry = RENDERER.node(obj)
    for subgraph in (node, telemetry):
        assert len(to_graph(subgraph.document)) > 0
    main = one(node.document, "k8s:Node")
    assert main["kgx:name"] == name and main["kgx:osImage"] == label
