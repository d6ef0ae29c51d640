#!/usr/bin/env python3
"""Draw docs/graph-model.md's picture from the project's own output.

Renders one Deployment and its telemetry with the real Renderer and the bundled templates, reads the
two documents back as RDF (offline, like the validator), and writes a Mermaid flowchart of their
triples between the ``<!-- diagram:start -->`` and ``<!-- diagram:end -->`` markers. Each entity is
one box listing its types and literal values; each link between entities is an arrow.

    python scripts/graph_model_diagram.py           # rewrite the diagram in docs/graph-model.md
    python scripts/graph_model_diagram.py --check   # exit 1 if the doc's diagram is stale
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
from rdflib.namespace import RDF, XSD

from kg_exporter.render.renderer import Renderer
from kg_exporter.resources import context
from kg_exporter.settings import Settings, load_settings
from kg_exporter.validate import to_graph

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "graph-model.md"
START = "<!-- diagram:start -->"
END = "<!-- diagram:end -->"
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


def _type_first(fact: str) -> tuple[int, str]:
    return (0 if fact.startswith("a ") else 1, fact)


def _block(text: str) -> str:
    return f"{START}\n```mermaid\n{text}```\n{END}"


def updated(document: str, text: str) -> str:
    """``document`` with the diagram between the markers replaced by ``text``."""
    start, end = document.find(START), document.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"{DOC}: markers {START} ... {END} not found")
    return document[:start] + _block(text) + document[end + len(END) :]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="exit 1 if the diagram is stale")
    mode.add_argument("--print", action="store_true", help="print the Mermaid text only")
    parser.add_argument("--doc", type=Path, default=DOC, help="document to update")
    args = parser.parse_args(argv)
    text = diagram()
    if args.print:
        sys.stdout.write(text)
        return 0
    current = args.doc.read_text(encoding="utf-8")
    fresh = updated(current, text)
    if args.check:
        if fresh != current:
            print(
                f"{args.doc}: the diagram is stale; run: python scripts/graph_model_diagram.py",
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
