"""N-Triples as pyoxigraph writes them, handled as bytes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
import pyoxigraph as ox

from kg_exporter import flatld

#: What a JSON-LD document may hold that the reference Metadata Service refuses or reads with
#: care (kg_exporter.service.validation): such a document is sent as it is, for the service to
#: judge, never as N-Triples that could say something else.
_SEND_AS_IS = (b"@annotation", b"@direction", b"@import", b"@propagate", b"\\u")


def from_json_ld(body: bytes) -> bytes | None:
    """The statements of a JSON-LD ``body`` (compact JSON, offline: no context is fetched) as
    N-Triples, or None when it is better sent as JSON-LD: it holds something in
    :data:`_SEND_AS_IS`, or no triple, or it is not valid JSON-LD."""
    if any(keyword in body for keyword in _SEND_AS_IS):
        return None
    try:
        statements = ox.serialize(
            ox.parse(body, format=ox.RdfFormat.JSON_LD), format=ox.RdfFormat.N_TRIPLES
        )
    except (SyntaxError, ValueError):
        return None
    return statements or None


def of_document(document: Mapping[str, Any]) -> bytes | None:
    """:func:`from_json_ld` of a rendered document (compact JSON as the sinks encode it): the
    statements the same, written by :mod:`kg_exporter.flatld` when the document is of its flat
    profile (every document the templates render; 43 against 149 us per subgraph, measured on
    the example cluster's), by pyoxigraph otherwise.

    The words of :data:`_SEND_AS_IS` are looked for in the N-Triples rather than in the JSON, which
    spares encoding the document: the flat profile has no keyword but ``@id``, ``@type``,
    ``@value``, ``@graph``, ``@context`` and ``@version`` outside its strings, and a string keeps
    its words; a control character or a backslash gives a ``\\u`` or ``\\\\u`` in both."""
    statements = flatld.to_ntriples(document)
    if statements is None:
        return from_json_ld(orjson.dumps(document))
    if not statements or any(keyword in statements for keyword in _SEND_AS_IS):
        return None
    return statements


def in_graph(statements: bytes, graph_iri: str) -> bytes:
    """N-Triples statements (one per line, each ending `` .`` and a newline, as pyoxigraph writes
    them) as N-Quads in the named graph ``graph_iri``.

    Nothing but a statement's end can be `` .`` and a newline: N-Triples escapes the newlines of
    literals. So the graph name goes in with one replace in native code instead of a Python object
    per statement (a third of the cost of ``render --format nquads``, measured).
    """
    return statements.replace(b" .\n", f" <{graph_iri}> .\n".encode())
