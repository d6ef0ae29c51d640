"""JSON-LD document → rdflib graph, offline, refusing what a store would silently mangle.

pyld expands the document with :func:`~kg_exporter.validate.loader.refusing_loader` (so nothing is
ever fetched) and a context cache of our own (pyld's process-wide cache could otherwise serve a
remote context some other code fetched). Its RDF dataset becomes rdflib terms directly, with no
N-Quads round trip. Refused, with a message saying where:

- a remote ``@context`` (or any other remote document);
- keys the context does not define (JSON-LD drops them without a word);
- relative IRIs (resolved against whatever base the reader has: not a stable identity);
- blank nodes (a node without ``@id`` is a new node on every write, so the graph grows forever);
- named graphs inside the document (the sink decides the graph a subgraph goes into);
- a document that yields no triple at all.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import rdflib
from pyld import jsonld
from pyld.context_resolver import ContextResolver
from rdflib.namespace import XSD

from kg_exporter.errors import ValidationFailed
from kg_exporter.validate.loader import RemoteDocumentRefused, refusing_loader
from kg_exporter.validate.ontology import shorten

#: Base that relative IRIs resolve against; an IRI under it was relative in the document. The
#: ``.invalid`` top-level domain is reserved (RFC 2606), so no real IRI starts with it.
RELATIVE_BASE = "https://relative-iri.invalid/"


class DocumentRejected(ValidationFailed):
    """A document the stores would not read as written; ``problems`` holds one line per problem."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


class _QuietIllTypedLiterals(logging.Filter):
    """rdflib logs a traceback for every ill-typed literal (``"yesterday"^^xsd:dateTime``); the
    SHACL report names the same literal in one line, so the traceback is noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Failed to convert Literal lexical form")


logging.getLogger("rdflib.term").addFilter(_QuietIllTypedLiterals())


def _options() -> dict[str, Any]:
    return {
        "documentLoader": refusing_loader,
        "contextResolver": ContextResolver({}, refusing_loader),
        "base": RELATIVE_BASE,
    }


def _refused_url(exc: BaseException) -> RemoteDocumentRefused | None:
    """The refusal behind a pyld error, wherever pyld put it (``__cause__`` or ``details``)."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, RemoteDocumentRefused):
            return current
        details = getattr(current, "details", None)
        if isinstance(details, Mapping) and isinstance(details.get("cause"), BaseException):
            todo.append(details["cause"])
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                todo.append(linked)
    return None


def _describe_pyld_error(exc: BaseException) -> str:
    message = str(exc.args[0]) if exc.args else str(exc)
    code = getattr(exc, "code", None)
    return f"{message} ({code})" if code else message


def expand(document: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """The document in JSON-LD expanded form, and the keys expansion dropped (those the context does
    not define); :class:`ValidationFailed` if it cannot be expanded offline."""
    dropped: list[str] = []
    processor = jsonld.JsonLdProcessor(on_property_dropped=lambda p: dropped.append(str(p)))
    try:
        expanded: list[dict[str, Any]] = processor.expand(dict(document), _options())
    except Exception as exc:
        refused = _refused_url(exc)
        if refused is not None:
            raise RemoteDocumentRefused(refused.url) from exc
        raise DocumentRejected([f"not valid JSON-LD: {_describe_pyld_error(exc)}"]) from exc
    return expanded, sorted(set(dropped))


def _term(node: Mapping[str, Any]) -> rdflib.term.Identifier:
    kind, value = node["type"], node["value"]
    if kind == "IRI":
        return rdflib.URIRef(value)
    if kind == "blank node":
        return rdflib.BNode(value.removeprefix("_:"))
    if "language" in node:
        return rdflib.Literal(value, lang=node["language"])
    datatype = node.get("datatype")
    if datatype is None or datatype == str(XSD.string):
        # rdflib tells "x" from "x"^^xsd:string, RDF 1.1 does not: keep the form the shapes use.
        return rdflib.Literal(value)
    # normalize=False keeps the lexical form the document wrote ("…Z", not "…+00:00").
    return rdflib.Literal(value, datatype=rdflib.URIRef(datatype), normalize=False)


def _show(term: rdflib.term.Node) -> str:
    if isinstance(term, rdflib.URIRef):
        return shorten(str(term))
    if isinstance(term, rdflib.BNode):
        return "a node without @id"
    return repr(str(term))


def _blank_node_problems(graph: rdflib.Graph) -> list[str]:
    problems = []
    blanks = {t for triple in graph for t in triple if isinstance(t, rdflib.BNode)}
    for blank in sorted(blanks):
        incoming = [f"{_show(s)} {_show(p)}" for s, p in graph.subject_predicates(blank)]
        outgoing = sorted({_show(p) for p in graph.predicates(blank)})
        where = f"value of {incoming[0]}" if incoming else "a top-level node"
        has = f" (has {', '.join(outgoing)})" if outgoing else ""
        problems.append(f"blank node: {where}{has}; give every node an @id")
    return problems


def _relative_iri_problems(graph: rdflib.Graph) -> list[str]:
    relative = {
        str(t)[len(RELATIVE_BASE) :]
        for triple in graph
        for t in triple
        if isinstance(t, rdflib.URIRef) and str(t).startswith(RELATIVE_BASE)
    }
    return [
        f"relative IRI {iri!r}: every @id and @type must be absolute" for iri in sorted(relative)
    ]


def triples_of(dataset: Mapping[str, Iterable[Mapping[str, Any]]]) -> rdflib.Graph:
    """rdflib graph of a pyld RDF dataset that holds only the default graph."""
    named = sorted(name for name in dataset if name != "@default")
    if named:
        raise DocumentRejected(
            [f"named graphs inside the document ({', '.join(named)}): a subgraph is one graph"]
        )
    graph = rdflib.Graph()
    for triple in dataset.get("@default", ()):
        graph.add((_term(triple["subject"]), _term(triple["predicate"]), _term(triple["object"])))
    return graph


def read_document(document: Mapping[str, Any]) -> tuple[rdflib.Graph, list[str]]:
    """The triples a JSON-LD document states, computed offline, and what is wrong with them (dropped
    keys, relative IRIs, blank nodes, no triple at all).

    Raises :class:`RemoteDocumentRefused` for a remote context and :class:`DocumentRejected` when
    the document is not JSON-LD at all.
    """
    expanded, dropped = expand(document)
    try:
        dataset = jsonld.to_rdf(expanded, _options())
    except Exception as exc:
        raise DocumentRejected([f"cannot convert to RDF: {_describe_pyld_error(exc)}"]) from exc
    graph = triples_of(dataset)
    problems = [
        f"key {key!r} is not defined by the @context: JSON-LD drops it silently" for key in dropped
    ]
    problems += _relative_iri_problems(graph) + _blank_node_problems(graph)
    if len(graph) == 0:
        problems.append("the document states no triple (missing @context, or no node with an @id?)")
    return graph, problems


def to_graph(document: Mapping[str, Any]) -> rdflib.Graph:
    """The triples a JSON-LD document states, computed offline.

    Raises :class:`DocumentRejected` (a :class:`ValidationFailed`) listing every problem when the
    document cannot be read as the stores will read it, and :class:`RemoteDocumentRefused` for a
    remote context.
    """
    graph, problems = read_document(document)
    if problems:
        raise DocumentRejected(problems)
    return graph
