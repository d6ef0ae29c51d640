"""A JSON-LD document (or RDF a caller already has) as an rdflib graph, offline.

pyoxigraph parses the JSON-LD: it has no document loader, so a remote ``@context`` is an error and
never a fetch, and it takes every JSON-LD layout — nested node objects, blank nodes, expanded IRIs,
``@vocab``, any property order. Its terms are then copied into an rdflib graph, which is what the
traversal in :mod:`kg_exporter.read.parse` (and a caller's own SPARQL) works on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pyoxigraph as ox
import rdflib
from rdflib.term import Node

from kg_exporter.errors import TelemetryParseError
from kg_exporter.service.nesting import json_too_deep

#: What :func:`as_graph` accepts: a parsed JSON-LD document, its text, or a graph.
Source = Mapping[str, Any] | str | bytes | rdflib.Graph

#: Deepest nesting read. pyoxigraph's JSON-LD parser recurses once per level and overflows the
#: native stack (SIGSEGV, the caller's whole process) some thousands of levels down (10,000
#: measured); a telemetry subgraph nests about five.
MAX_JSON_DEPTH = 256


def as_graph(source: Source) -> rdflib.Graph:
    """``source`` as an rdflib graph; the triples of every graph in it, named graphs included
    (a SPARQL ``CONSTRUCT`` or a GLACIATION snapshot may hold the subgraph in one)."""
    if isinstance(source, rdflib.Graph):
        return source
    try:
        data = json.dumps(source) if isinstance(source, Mapping) else source
    except RecursionError as exc:
        raise TelemetryParseError(
            "the document nests deeper than Python's JSON encoder goes"
        ) from exc
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if json_too_deep(raw, MAX_JSON_DEPTH):
        raise TelemetryParseError(f"the document nests more than {MAX_JSON_DEPTH} deep")
    try:
        quads = ox.parse(data, format=ox.RdfFormat.JSON_LD)
        graph = rdflib.Graph()
        for quad in quads:
            graph.add((_term(quad.subject), _term(quad.predicate), _term(quad.object)))
    except (SyntaxError, ValueError) as exc:
        raise TelemetryParseError(
            f"not a JSON-LD document that can be read offline (inline @context only): {exc}"
        ) from exc
    return graph


def _term(term: Any) -> Node:
    if isinstance(term, ox.NamedNode):
        return rdflib.URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return rdflib.BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return rdflib.Literal(term.value, lang=term.language)
        return rdflib.Literal(term.value, datatype=rdflib.URIRef(term.datatype.value))
    raise TelemetryParseError(f"unsupported RDF term {term!r} (RDF-star is not read)")
