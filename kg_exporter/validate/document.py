"""Validate one rendered document: readable JSON-LD, declared vocabulary, SHACL shapes, the kind's
main entities.

Off the hot path (the CLI, tests, CI over examples); the shapes are parsed once per process.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import rdflib
from pyshacl import validate as shacl_validate
from rdflib.namespace import RDF

from kg_exporter.errors import ValidationFailed
from kg_exporter.identity import SubgraphKind
from kg_exporter.render.renderer import Subgraph
from kg_exporter.validate.graph import DocumentRejected, read_document
from kg_exporter.validate.messages import result_lines, show
from kg_exporter.validate.ontology import GLC, K8S, KGX, declared_terms, shapes

#: Entities each kind of subgraph describes exactly once (the rest of the subgraph hangs off them).
MAIN_ENTITIES: dict[SubgraphKind, tuple[rdflib.URIRef, ...]] = {
    SubgraphKind.WORKLOAD: (K8S.Workload, GLC.Status),
    SubgraphKind.WORKLOAD_TELEMETRY: (
        KGX.Telemetry,
        KGX.MetricsDataset,
        KGX.LogsDataset,
        KGX.PrometheusService,
        KGX.LokiService,
        KGX.GrafanaService,
    ),
    SubgraphKind.NODE: (K8S.Node, GLC.Status),
    SubgraphKind.NODE_TELEMETRY: (KGX.Telemetry, KGX.MetricsDataset, KGX.PrometheusService),
    SubgraphKind.GLACIATION_NODE: (KGX.GNode,),
    SubgraphKind.GLACIATION_NODE_TELEMETRY: (
        KGX.Telemetry,
        KGX.MetricsDataset,
        KGX.PrometheusService,
    ),
}

_WEB_SCHEMES = ("http://", "https://", "urn:")


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of validating one document; ``messages`` are ``focus — path — message`` lines."""

    conforms: bool
    messages: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return "conforms" if self.conforms else "\n".join(self.messages)


def vocabulary_problems(graph: rdflib.Graph) -> list[str]:
    """Predicates and classes that are kgx: terms ``ontology/kgx.ttl`` does not declare, or that
    look like a CURIE whose prefix the context lacks (``kgz:name`` is a valid IRI of scheme kgz)."""
    used = set(graph.predicates()) | set(graph.objects(None, RDF.type))
    problems = []
    declared = declared_terms()
    for term in sorted(t for t in used if isinstance(t, rdflib.URIRef)):
        iri = str(term)
        if iri.startswith(str(KGX)) and term not in declared:
            problems.append(f"{show(term)} — (vocabulary) — not declared in ontology/kgx.ttl")
        elif not iri.startswith(_WEB_SCHEMES):
            problems.append(
                f"<{iri}> — (vocabulary) — not a web IRI: is its prefix missing from the @context?"
            )
    return problems


def kind_problems(graph: rdflib.Graph, kind: SubgraphKind) -> list[str]:
    """The kind's main entities must each appear exactly once."""
    problems = []
    for cls in MAIN_ENTITIES[kind]:
        count = len(set(graph.subjects(RDF.type, cls)))
        if count != 1:
            problems.append(
                f"{kind.value} subgraph — rdf:type — describes {count} {show(cls)}, expected 1"
            )
    return problems


def shape_problems(graph: rdflib.Graph) -> list[str]:
    shapes_graph = shapes()
    conforms, results, _ = shacl_validate(
        graph,
        shacl_graph=shapes_graph,
        inference="none",
        advanced=False,
        allow_warnings=False,
        abort_on_first=False,
    )
    if conforms:
        return []
    if not isinstance(results, rdflib.Graph):
        # pyshacl returns (False, exception, text) when the shapes themselves are broken.
        raise ValidationFailed(f"the SHACL shapes cannot be applied: {results}")
    return result_lines(results, shapes_graph)


def validate_document(
    document: Mapping[str, Any], *, kind: SubgraphKind | None = None
) -> ValidationReport:
    """Validate one JSON-LD document; never fetches anything.

    Checks, in order: it expands offline to triples with no blank node, relative IRI or dropped key;
    every kgx: term is declared; when ``kind`` is given, the kind's main entities are there once;
    every node conforms to ``ontology/shapes.ttl``.
    """
    try:
        graph, problems = read_document(document)
    except DocumentRejected as exc:
        return ValidationReport(False, exc.problems)
    except ValidationFailed as exc:
        return ValidationReport(False, [str(exc)])
    if len(graph) == 0:
        return ValidationReport(False, problems)
    problems += vocabulary_problems(graph)
    if kind is not None:
        problems += kind_problems(graph, kind)
    problems += shape_problems(graph)
    return ValidationReport(not problems, problems)


def assert_valid(
    subgraph: Subgraph | Mapping[str, Any], *, kind: SubgraphKind | None = None
) -> None:
    """Raise :class:`ValidationFailed` listing every problem unless the subgraph (or bare document)
    conforms. A :class:`Subgraph` is checked against its own kind as well."""
    document: Mapping[str, Any]
    if isinstance(subgraph, Subgraph):
        name, document, kind = subgraph.id, subgraph.document, kind or subgraph.kind
    else:
        name, document = "document", subgraph
    report = validate_document(document, kind=kind)
    if not report.conforms:
        lines = "\n  ".join(report.messages)
        raise ValidationFailed(f"{name} does not conform:\n  {lines}")
