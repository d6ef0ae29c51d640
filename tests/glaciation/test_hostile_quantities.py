"""Hostile quantities in the GLACIATION profile's tasks and nodes: every value is one the sinks can
encode (orjson refuses integers past 64 bits), or left out; never an exception."""

from __future__ import annotations

import orjson

from kg_exporter.glaciation.nodes import node_facts
from kg_exporter.glaciation.tasks import task_facts

HOSTILE = ["8Ei", "1Ei", "1E", "9999999999999999999999Ei", "1e999", "-1", "NaN", "1e300"]


def test_task_constraints_of_hostile_quantities_encode() -> None:
    containers = [
        {"name": f"c{i}", "resources": {"limits": {"memory": q, "cpu": q}, "requests": {"memory": q}}}
        for i, q in enumerate([*HOSTILE, "8Ei", "8Ei"])
    ]
    obj = {
        "spec": {"template": {
            "metadata": {"annotations": {"glaciation-project.eu/energy-capacity": "16Ei"}},
            "spec": {"containers": containers},
        }},
    }  # fmt: skip
    facts = task_facts(obj, "Deployment", "web")
    values = {c["description"]: c["value"] for c in facts["constraints"]}
    assert values["RAM.Capacity"] > 2**64  # the sum of three 8Ei and the rest: a float
    assert orjson.loads(orjson.dumps(facts)) is not None


def test_node_capacities_of_hostile_quantities_encode() -> None:
    for q in HOSTILE:
        obj = {
            "metadata": {"name": "n1", "annotations": {"glaciation-project.eu/node-energy-index": q}},
            "status": {"allocatable": {"cpu": q, "memory": q, "ephemeral-storage": q}},
        }
        orjson.dumps(node_facts(obj, "n1"))
