"""JSON-LD in and out of RDF terms, offline by construction.

Reading uses pyoxigraph's JSON-LD parser, which has no document loader: a remote ``@context`` (or
``@import``) is a syntax error, never a fetch. Writing is a small compaction of our own rather than
pyld's: the documents we store are flat node lists (no nesting, no lists, no reverse properties), so
grouping triples by subject and shortening IRIs with the context's prefixes is all compaction has to
do, and it costs ~0.1 ms for a typical subgraph against ~6 ms for pyld's general algorithm. The
output is deterministic (nodes, properties and values sorted) so two GETs of one graph are equal.

Only prefix-style term definitions are used to shorten IRIs (``"k8s": "https://...#"``), never exact
terms, ``@vocab`` or ``@base``: those may carry coercions (``@type``, ``@container``) that a plain
string value would then silently pick up, so a document we write always expands back to exactly the
triples it was made from.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import pyoxigraph as ox

from kg_exporter.errors import SinkError

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
_GEN_DELIMS = (":", "/", "?", "#", "[", "]", "@")

Subject = ox.NamedNode | ox.BlankNode
Object = ox.NamedNode | ox.BlankNode | ox.Literal


def parse_triples(data: bytes | str) -> list[ox.Triple]:
    """The triples of a JSON-LD document, which must hold no named graphs.

    Raises :class:`SinkError` when the data is not JSON-LD or names a graph: a sink gives back one
    graph, so a dataset there means the peer answered something other than what we asked for.
    """
    try:
        quads = list(ox.parse(data, format=ox.RdfFormat.JSON_LD))
    except (SyntaxError, ValueError) as exc:
        raise SinkError(f"not JSON-LD: {exc}") from exc
    triples = []
    for quad in quads:
        if not isinstance(quad.graph_name, ox.DefaultGraph):
            raise SinkError(f"unexpected named graph {quad.graph_name} in a subgraph document")
        triples.append(quad.triple)
    return triples


def document_triples(document: Mapping[str, Any]) -> list[ox.Triple]:
    """The triples of an in-memory JSON-LD document (see :func:`parse_triples`)."""
    return parse_triples(json.dumps(document))


class Compactor:
    """Turns triples into a ``{"@context": ..., "@graph": [...]}`` document using ``context``."""

    def __init__(self, context: Mapping[str, Any]) -> None:
        self._context = dict(context)
        self._prefixes = _prefixes(context)
        self._terms = frozenset(term for term in context if not term.startswith("@"))
        # A default language would turn our plain strings into language-tagged ones.
        self._plain_strings = "@language" not in context and "@direction" not in context
        self._cache: dict[str, str] = {}

    def document(self, triples: Iterable[ox.Triple]) -> dict[str, Any]:
        nodes: dict[str, dict[str, list[Any]]] = {}
        for triple in triples:
            node = nodes.setdefault(self._node_id(triple.subject), {})
            if isinstance(triple.object, ox.Triple):
                raise SinkError("RDF-star triple terms cannot be written as JSON-LD 1.1")
            if triple.predicate.value == RDF_TYPE and isinstance(triple.object, ox.NamedNode):
                node.setdefault("@type", []).append(self.iri(triple.object.value))
            else:
                key = self.iri(triple.predicate.value)
                node.setdefault(key, []).append(self._value(triple.object))
        graph = []
        for node_id in sorted(nodes):
            out: dict[str, Any] = {"@id": node_id}
            for key in sorted(nodes[node_id]):
                values = nodes[node_id][key]
                values.sort(key=_sort_key)
                out[key] = values[0] if len(values) == 1 else values
            graph.append(out)
        return {"@context": self._context, "@graph": graph}

    @property
    def terms(self) -> frozenset[str]:
        """The context's terms (keywords left out)."""
        return self._terms

    def check(self, triples: Iterable[ox.Triple]) -> None:
        """Raise :class:`SinkError` when :meth:`document` could not write ``triples`` (an IRI
        this context would misread, an RDF-star triple term), without writing anything."""
        for triple in triples:
            subject, term = triple.subject, triple.object
            if isinstance(subject, ox.NamedNode):
                self._check_iri(subject.value)
            elif not isinstance(subject, ox.BlankNode):
                raise SinkError("RDF-star triple terms cannot be written as JSON-LD 1.1")
            self._check_iri(triple.predicate.value)
            if isinstance(term, ox.NamedNode):
                self._check_iri(term.value)
            elif isinstance(term, ox.Literal):
                self._check_iri(term.datatype.value)
            elif not isinstance(term, ox.BlankNode):
                raise SinkError("RDF-star triple terms cannot be written as JSON-LD 1.1")

    def _check_iri(self, iri: str) -> None:
        # Only an IRI whose scheme is one of the context's terms can be misread (see iri()).
        scheme, _, rest = iri.partition(":")
        if scheme in self._terms and not rest.startswith("//"):
            self.iri(iri)

    def iri(self, iri: str) -> str:
        """``iri`` shortened to ``prefix:suffix`` with the longest matching prefix, if safe."""
        cached = self._cache.get(iri)
        if cached is not None:
            return cached
        best = iri
        best_len = 0
        for term, base in self._prefixes:
            if len(base) > best_len and iri.startswith(base) and len(iri) > len(base):
                suffix = iri[len(base) :]
                # "p://x" would read as an absolute IRI, and a term named like the result would
                # win over the prefix when expanding.
                compact = f"{term}:{suffix}"
                if not suffix.startswith("//") and compact not in self._context:
                    best, best_len = compact, len(base)
        if best is iri:
            scheme, colon, rest = iri.partition(":")
            if colon and scheme in self._terms and not rest.startswith("//"):
                raise SinkError(f"IRI <{iri}> would read as a compact IRI with the context's term")
        if len(self._cache) < 100_000:
            self._cache[iri] = best
        return best

    def _node_id(self, term: Subject | ox.Triple) -> str:
        if isinstance(term, ox.BlankNode):
            return f"_:{term.value}"
        if isinstance(term, ox.NamedNode):
            return self.iri(term.value)
        raise SinkError("RDF-star triple terms cannot be written as JSON-LD 1.1")

    def _value(self, term: Object) -> Any:
        if isinstance(term, ox.NamedNode):
            return {"@id": self.iri(term.value)}
        if isinstance(term, ox.BlankNode):
            return {"@id": f"_:{term.value}"}
        if term.language:
            return {"@value": term.value, "@language": term.language}
        datatype = term.datatype.value
        if datatype == XSD_STRING:
            return term.value if self._plain_strings else {"@value": term.value}
        return {"@value": term.value, "@type": self.iri(datatype)}


def _prefixes(context: Mapping[str, Any]) -> list[tuple[str, str]]:
    prefixes = []
    for term, definition in context.items():
        if term.startswith("@") or ":" in term:
            continue
        if isinstance(definition, str):
            iri = definition
        elif isinstance(definition, Mapping) and set(definition) <= {"@id", "@prefix"}:
            if definition.get("@prefix") is False or not isinstance(definition.get("@id"), str):
                continue
            iri = definition["@id"]
        else:
            continue
        # JSON-LD 1.1 only uses simple terms ending in a gen-delim as prefixes.
        if iri.endswith(_GEN_DELIMS):
            prefixes.append((term, iri))
    return prefixes


def _sort_key(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)
