"""Rendered subgraphs as bytes: compact JSON for the wire, indented JSON for people, N-Quads and
Turtle for RDF tools.

Why not ``json`` and rdflib: encoding JSON with the standard library's pure-Python indenting
encoder was most of a dry run's time, and rdflib (via pyld's JSON-LD expansion) took about 40 ms
per subgraph for ``render --format nquads`` (7 minutes for 11,000 objects). orjson encodes in
native code, and pyoxigraph — the store the reference Metadata Service itself uses — parses the
JSON-LD and writes N-Quads and Turtle in native code, offline (it never fetches a context);
N-Quads of the documents the templates render come from :mod:`kg_exporter.flatld`, cheaper still.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
import pyoxigraph as ox

from kg_exporter import flatld
from kg_exporter.errors import RenderError
from kg_exporter.identity import subgraph_graph_iri
from kg_exporter.ntriples import in_graph


def compact_json(document: Mapping[str, Any]) -> bytes:
    """The document as compact UTF-8 JSON, keys in the order rendered: what sinks send."""
    return orjson.dumps(document)


def pretty_json(document: Mapping[str, Any]) -> bytes:
    """The document indented by two spaces, keys in the order rendered, with a final newline: what
    ``backfill --dry-run`` writes for people to read and diff."""
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)


def _parsed(document: Mapping[str, Any]) -> list[ox.Quad]:
    try:
        return list(ox.parse(compact_json(document), format=ox.RdfFormat.JSON_LD))
    except (SyntaxError, ValueError) as exc:
        raise RenderError(f"the rendered document is not valid JSON-LD: {exc}") from exc


def nquads(subgraph_id: str, document: Mapping[str, Any]) -> bytes:
    """The subgraph's statements as N-Quads in its named graph (``urn:kg-exporter:subgraph:<id>``),
    as the Metadata Service stores them; :class:`RenderError` when the document cannot be read
    as JSON-LD (a template that prints invalid JSON-LD). Documents of the flat profile (all the
    templates render) are written by :mod:`kg_exporter.flatld`, the rest by pyoxigraph."""
    statements = flatld.to_ntriples(document)
    if statements is None:
        statements = ox.serialize(_parsed(document), format=ox.RdfFormat.N_QUADS) or b""
    return in_graph(statements, subgraph_graph_iri(subgraph_id))


def turtle(document: Mapping[str, Any], prefixes: Mapping[str, str]) -> bytes:
    """The subgraph's statements as Turtle, IRIs shortened with ``prefixes``;
    :class:`RenderError` as for :func:`nquads`."""
    quads = _parsed(document)
    return ox.serialize(quads, format=ox.RdfFormat.TURTLE, prefixes=dict(prefixes)) or b""


def context_prefixes(context: Mapping[str, Any]) -> dict[str, str]:
    """The prefix declarations of a JSON-LD context: its terms that map to an IRI ending in ``/``
    or ``#`` (the rest are term definitions, not namespaces)."""
    return {
        term: iri
        for term, iri in context.items()
        if not term.startswith("@") and isinstance(iri, str) and iri.endswith(("/", "#"))
    }
