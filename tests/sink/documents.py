"""Realistic subgraph documents for sink and service tests, and graph comparison.

``workload_document`` looks like what the workload template renders (~40 triples): typed literals
(xsd:dateTime, integer, decimal, boolean), language-tagged and Unicode strings, IRIs with
percent-encoded segments, links to other subgraphs' entities.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import rdflib
from rdflib.compare import isomorphic

from kg_exporter.resources import context

BASE = "https://kg-exporter.example.org/cluster1"


def workload_document(
    name: str = "web", *, phase: str = "Running", replicas: int = 3
) -> dict[str, Any]:
    workload = f"{BASE}/deployment/default/{name}"
    graph: list[dict[str, Any]] = [
        {
            "@id": workload,
            "@type": ["k8s:Deployment", "glc:Task"],
            "kgx:name": name,
            "kgx:namespace": "default",
            "kgx:uid": "3f0c9a2e-5b7d-4c1e-9f3a-1b2c3d4e5f60",
            "kgx:phase": phase,
            "kgx:replicas": replicas,
            "kgx:startTime": {"@value": "2024-05-01T10:00:00Z", "@type": "xsd:dateTime"},
            "kgx:observedAt": {"@value": "2024-05-01T10:05:30.250+02:00", "@type": "xsd:dateTime"},
            "kgx:paused": False,
            "rdfs:label": [
                {"@value": "wéb — façade ☃", "@language": "fr"},
                'web frontend "quoted" \\ back\nslash',
            ],
            "kgx:inCluster": {"@id": BASE},
            "kgx:onNode": {"@id": f"{BASE}/node/worker%C3%A9-1"},
            "kgx:usesClaim": {"@id": f"{BASE}/persistentvolumeclaim/default/data%20vol"},
        }
    ]
    for index, image in enumerate(["registry.example/web:1.2.3", "registry.example/sidecar:0.9"]):
        container = f"{workload}/container/c{index}"
        graph.append(
            {
                "@id": container,
                "@type": "k8s:Container",
                "kgx:name": f"c{index}",
                "kgx:image": image,
                "kgx:cpuRequest": {"@value": "0.25", "@type": "xsd:decimal"},
                "kgx:memoryRequest": {"@value": "134217728", "@type": "xsd:integer"},
                "kgx:partOf": {"@id": workload},
                "dct:description": "コンテナ 🚀",
            }
        )
    for key, value in [("app", name), ("tier", "front end"), ("team", "ünïcode")]:
        graph.append(
            {
                "@id": f"{workload}/label/{key}",
                "@type": "kgx:Label",
                "kgx:key": key,
                "kgx:value": value,
                "kgx:labels": {"@id": workload},
            }
        )
    return {"@context": context(), "@graph": graph}


def to_graph(document: Any) -> rdflib.Graph:
    """The RDF graph of a JSON-LD document, parsed offline (inline contexts only)."""
    with warnings.catch_warnings():
        # rdflib's JSON-LD parser uses its own deprecated ConjunctiveGraph internally.
        warnings.simplefilter("ignore", DeprecationWarning)
        return rdflib.Graph().parse(data=json.dumps(document), format="json-ld")


def same_graph(left: Any, right: Any) -> bool:
    return isomorphic(to_graph(left), to_graph(right))


def triple_count(document: Any) -> int:
    return len(to_graph(document))
