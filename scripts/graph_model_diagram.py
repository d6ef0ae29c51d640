#!/usr/bin/env python3
"""Draw docs/graph-model.md's pictures from the project's own output.

The instance picture: renders one Deployment and its telemetry with the real Renderer and the
bundled templates, reads the two documents back as RDF (offline, like the validator), and writes a
Mermaid flowchart of their triples between the ``<!-- diagram:start -->`` and
``<!-- diagram:end -->`` markers. Each entity is one box listing its types and literal values; each
link between entities is an arrow.

The class picture (``<!-- classes:start -->`` ... ``<!-- classes:end -->``): the class of every
configured workload kind (the bundled kinds file), and the classes a workload links to, as the
workload documents of every object under examples/ state them — a link's target is classed by
its types in the same document, else by the property's rdfs:range in ontology/kgx.ttl.

    python scripts/graph_model_diagram.py           # rewrite both pictures in docs/graph-model.md
    python scripts/graph_model_diagram.py --check   # exit 1 if a picture in the doc is stale
    python scripts/graph_model_diagram.py --print   # print the Mermaid text only
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import rdflib
from rdflib.namespace import RDF, RDFS, XSD

from kg_exporter.manifests import Manifest, read_manifests
from kg_exporter.render.batch import render_objects
from kg_exporter.render.renderer import Renderer, Subgraph
from kg_exporter.resources import context
from kg_exporter.settings import Settings, load_settings
from kg_exporter.validate import to_graph

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "graph-model.md"
EXAMPLES = ROOT / "examples"
ONTOLOGY = ROOT / "ontology" / "kgx.ttl"
START = "<!-- diagram:start -->"
END = "<!-- diagram:end -->"
CLASSES_START = "<!-- classes:start -->"
CLASSES_END = "<!-- classes:end -->"
K8S = rdflib.Namespace("https://glaciation-project.eu/MetadataReferenceModel/kubernetes#")
GLC = rdflib.Namespace("https://glaciation-project.eu/MetadataReferenceModel#")
KGX = rdflib.Namespace("https://w3id.org/kg-exporter/vocab#")
#: Every workload node has these types besides its kind's class.
WORKLOAD_TYPES = {K8S.Workload, GLC.AssignedTask}
MAX_LITERAL = 44
_BARE = {XSD.integer, XSD.double, XSD.decimal, XSD.boolean}

#: The example drawn: a running Deployment with one container, one label and one claim.
EXAMPLE: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {
        "name": "web",
        "namespace": "shop",
        "uid": "0b5c6f3e-1d2a-4c1e-9a57-3f1f2f7c9d10",
        "creationTimestamp": "2026-01-05T09:00:00Z",
        "labels": {"app.kubernetes.io/name": "storefront"},
    },
    "spec": {
        "replicas": 2,
        "template": {
            "spec": {
                "nodeName": "worker-1",
                "containers": [
                    {
                        "name": "nginx",
                        "image": "nginx:1.27",
                        "resources": {"requests": {"cpu": "250m"}},
                    }
                ],
                "volumes": [{"name": "media", "persistentVolumeClaim": {"claimName": "media"}}],
            }
        },
    },
    "status": {
        "availableReplicas": 2,
        "conditions": [
            {"type": "Available", "status": "True", "lastTransitionTime": "2026-01-05T09:00:20Z"}
        ],
    },
}


def _settings() -> Settings:
    # The picture must not depend on who runs the script: defaults only, no KG_EXPORTER_* variables.
    for name in [n for n in os.environ if n.startswith("KG_EXPORTER_")]:
        del os.environ[name]
    return load_settings()


def _render(settings: Settings) -> list[tuple[str, rdflib.Graph]]:
    workload, telemetry = Renderer(settings).workload(EXAMPLE)
    return [(s.kind.value, to_graph(s.document)) for s in (workload, telemetry)]


class _Names:
    """Short, stable names: CURIEs for vocabulary terms, ``base:`` for the exporter's IRIs."""

    def __init__(self, settings: Settings) -> None:
        self.base = settings.iri_base
        self.prefixes = sorted(
            ((k, v) for k, v in context().items() if isinstance(v, str) and not k.startswith("@")),
            key=lambda kv: -len(kv[1]),
        )
        self.prefixes.append(("rdf", str(RDF)))

    def iri(self, iri: str) -> str:
        if iri.startswith(self.base):
            return "base:" + iri[len(self.base) :]
        for prefix, namespace in self.prefixes:
            if iri.startswith(namespace):
                return f"{prefix}:{iri[len(namespace) :]}"
        return iri


def _abbreviate(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_LITERAL else text[: MAX_LITERAL - 1] + "…"


def _escape(text: str) -> str:
    """Text safe inside a quoted Mermaid label."""
    out = text.replace("#", "#35;").replace('"', "#quot;")
    return out.replace("<", "#lt;").replace(">", "#gt;")


def _literal(term: rdflib.Literal, names: _Names) -> str:
    """Turtle's way: bare numbers and booleans, quoted strings, other types with ``^^``."""
    shown = _abbreviate(str(term))
    if term.datatype in _BARE:
        return shown
    if term.datatype is not None:
        return f'"{shown}"^^{names.iri(str(term.datatype))}'
    return f'"{shown}"'


def diagram() -> str:
    """The Mermaid flowchart of the example's workload and workload-telemetry subgraphs."""
    settings = _settings()
    names = _Names(settings)
    graphs = _render(settings)
    home: dict[rdflib.URIRef, str] = {}  # entity -> the subgraph that types it
    facts: dict[rdflib.URIRef, list[str]] = defaultdict(list)
    links: dict[tuple[rdflib.URIRef, rdflib.URIRef], list[str]] = defaultdict(list)
    for kind, graph in graphs:
        for s, p, o in sorted(graph):
            if not isinstance(s, rdflib.URIRef):
                continue
            if p == RDF.type:
                home.setdefault(s, kind)
                facts[s].append("a " + names.iri(str(o)))
            elif isinstance(o, rdflib.Literal):
                facts[s].append(f"{names.iri(str(p))} {_literal(o, names)}")
            elif isinstance(o, rdflib.URIRef):
                links[(s, o)].append(names.iri(str(p)))
    entities = sorted(set(home) | {e for pair in links for e in pair} | set(facts))
    ids = {entity: f"n{i}" for i, entity in enumerate(entities)}

    def box(entity: rdflib.URIRef) -> str:
        lines = [f"<b>{_escape(names.iri(str(entity)))}</b>"]
        lines += [_escape(fact) for fact in sorted(set(facts[entity]), key=_type_first)]
        return f'{ids[entity]}["{"<br/>".join(lines)}"]'

    out = ["flowchart LR"]
    for kind, _ in graphs:
        out.append(f'  subgraph {kind.replace("-", "_")}["{kind} subgraph"]')
        out += [f"    {box(e)}" for e in entities if home.get(e) == kind]
        out.append("  end")
    out += [f"  {box(e)}:::external" for e in entities if e not in home]
    for (s, o), predicates in sorted(links.items()):
        label = "<br/>".join(_escape(p) for p in sorted(set(predicates)))
        out.append(f'  {ids[s]} -->|"{label}"| {ids[o]}')
    out.append("  classDef external stroke-dasharray: 4 4")
    return "\n".join(out) + "\n"


def _workload_graphs(renderer: Renderer) -> list[rdflib.Graph]:
    objects = [(m.obj, m.where) for m in read_manifests([EXAMPLES]) if isinstance(m, Manifest)]
    rendered = render_objects(objects, renderer, include_glaciation_node=False)
    return [
        to_graph(s.document)
        for s in rendered
        if isinstance(s, Subgraph) and s.kind.value == "workload"
    ]


def _most_specific(types: set[rdflib.URIRef], ontology: rdflib.Graph) -> set[rdflib.URIRef]:
    """``types`` without those another of them specialises (kgx:Data beside kgx:OciArtifact)."""
    supers = {o for t in types for o in ontology.transitive_objects(t, RDFS.subClassOf) if o != t}
    return types - supers


def classes() -> str:
    """The Mermaid flowchart of the workload classes and what a workload links to."""
    settings = _settings()
    names = _Names(settings)
    renderer = Renderer(settings)
    ontology = rdflib.Graph().parse(ONTOLOGY, format="turtle")
    graphs = _workload_graphs(renderer)
    kind_class: dict[rdflib.URIRef, rdflib.URIRef] = {}  # workload node -> its kind's class
    for graph in graphs:
        for node in graph.subjects(RDF.type, K8S.Workload):
            if isinstance(node, rdflib.URIRef):
                for t in set(graph.objects(node, RDF.type)) - WORKLOAD_TYPES:
                    kind_class[node] = rdflib.URIRef(str(t))
    links: dict[tuple[str, str], set[str]] = defaultdict(set)  # (source, target) -> predicates
    targets: set[str] = set()
    for graph in graphs:
        for s, p, o in graph:
            if not isinstance(s, rdflib.URIRef) or not isinstance(o, rdflib.URIRef):
                continue
            if s not in kind_class or p == RDF.type:
                continue
            if o in kind_class:  # a workload linking to another: by their own classes
                links[(names.iri(str(kind_class[s])), names.iri(str(kind_class[o])))].add(
                    names.iri(str(p))
                )
                continue
            typed = {t for t in graph.objects(o, RDF.type) if isinstance(t, rdflib.URIRef)}
            ranges = {r for r in ontology.objects(p, RDFS.range) if isinstance(r, rdflib.URIRef)}
            for cls in sorted(_most_specific(typed, ontology) or ranges):
                targets.add(names.iri(str(cls)))
                links[("workloads", names.iri(str(cls)))].add(names.iri(str(p)))
    data = {
        names.iri(str(c))
        for c in ontology.subjects(RDFS.subClassOf, KGX.Data)
        if names.iri(str(c)) in targets
    }
    ids: dict[str, str] = {"workloads": "workloads", names.iri(str(KGX.Data)): "data"}

    def box(curie: str, lines: list[str]) -> str:
        ids.setdefault(curie, f"c{len(ids) - 2}")  # after the two groups
        label = "<br/>".join([f"<b>{_escape(curie)}</b>"] + [_escape(line) for line in lines])
        return f'{ids[curie]}["{label}"]'

    by_class: dict[str, list[str]] = defaultdict(list)
    for spec in renderer.kinds.specs():
        by_class[spec.class_iri].append(f"{spec.kind} {spec.api_version}")
    out = ["flowchart LR"]
    out.append(
        '  subgraph workloads["a workload: glc:AssignedTask, k8s:Workload and its kind class"]'
    )
    out += [f"    {box(c, kinds)}" for c, kinds in by_class.items()]
    out.append("  end")
    out.append('  subgraph data["kgx:Data"]')
    out += [f"    {box(c, [])}" for c in sorted(data)]
    out.append("  end")
    out += [f"  {box(c, [])}" for c in sorted(targets - data) if c not in ids]
    for (source, target), predicates in sorted(links.items()):
        label = "<br/>".join(_escape(predicate) for predicate in sorted(predicates))
        out.append(f'  {ids[source]} -->|"{label}"| {ids[target]}')
    return "\n".join(out) + "\n"


def _type_first(fact: str) -> tuple[int, str]:
    return (0 if fact.startswith("a ") else 1, fact)


def updated(document: str, text: str, start_marker: str = START, end_marker: str = END) -> str:
    """``document`` with the picture between the markers replaced by ``text``."""
    start, end = document.find(start_marker), document.find(end_marker)
    if start < 0 or end < start:
        raise SystemExit(f"{DOC}: markers {start_marker} ... {end_marker} not found")
    block = f"{start_marker}\n```mermaid\n{text}```\n{end_marker}"
    return document[:start] + block + document[end + len(end_marker) :]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="exit 1 if the diagram is stale")
    mode.add_argument("--print", action="store_true", help="print the Mermaid text only")
    parser.add_argument("--doc", type=Path, default=DOC, help="document to update")
    args = parser.parse_args(argv)
    text, classes_text = diagram(), classes()
    if args.print:
        sys.stdout.write(text + "\n" + classes_text)
        return 0
    current = args.doc.read_text(encoding="utf-8")
    fresh = updated(updated(current, text), classes_text, CLASSES_START, CLASSES_END)
    if args.check:
        if fresh != current:
            print(
                f"{args.doc}: a diagram is stale; run: python scripts/graph_model_diagram.py",
                file=sys.stderr,
            )
            return 1
        print(f"{args.doc}: diagram up to date")
        return 0
    if fresh != current:
        args.doc.write_text(fresh, encoding="utf-8")
        print(f"{args.doc}: diagram updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
