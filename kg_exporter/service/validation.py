"""What the reference Metadata Service accepts: subgraph ids from URL paths, and JSON-LD bodies.

Everything here is pure and raises :class:`BadRequest` carrying the HTTP status and the JSON error
body the client will see, so each refusal is decided in one place and tested as a table.

Accepted bodies are JSON objects that expand (offline) to at least one triple in the default graph.
Blank nodes are accepted: a subgraph is always replaced whole, so they cannot pile up across
updates, and they stay scoped to their subgraph. Named graphs (a top-level ``@id`` next to
``@graph``) are refused: the subgraph *is* the graph, and silently moving the triples would make a
GET answer something other than what was PUT.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import pyoxigraph as ox

from kg_exporter.errors import SinkError
from kg_exporter.service.limits import Limits
from kg_exporter.service.nesting import json_too_deep
from kg_exporter.sink.ids import id_problem

DEFAULT_LIMITS = Limits()
#: Default limit of a request body, in bytes.
DEFAULT_MAX_BODY_BYTES = DEFAULT_LIMITS.max_body_bytes
ACCEPTED_CONTENT_TYPES = frozenset({"application/ld+json", "application/json"})


@dataclass
class BadRequest(Exception):
    """A refused request: ``status`` and the ``{"error": ..., "detail": ...}`` body to send."""

    status: int
    error: str
    detail: Any = None

    def __str__(self) -> str:
        return f"{self.status} {self.error}" + (f": {self.detail}" if self.detail else "")

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "detail": self.detail}


def subgraph_id_from_segment(raw: str) -> str:
    """The id named by ``raw``, the still percent-encoded path segment after ``/subgraph/``.

    The segment is decoded once (a client sends ``%`` in an id as ``%25``), then the id must be a
    valid path segment itself. A ``/`` raw or encoded as ``%2F`` is refused rather than routed: ids
    never contain one, so it can only be a client bug or a traversal attempt.
    """
    if "/" in raw:
        raise BadRequest(400, "invalid subgraph id", "an id cannot contain '/'")
    try:
        subgraph_id = unquote(raw, errors="strict")
    except UnicodeDecodeError as exc:
        raise BadRequest(400, "invalid subgraph id", "percent-encoding is not UTF-8") from exc
    check_subgraph_id(subgraph_id)
    return subgraph_id


def check_subgraph_id(subgraph_id: str) -> None:
    """Refuse ids that are empty, too long, dot segments or not URL path segment characters."""
    problem = id_problem(subgraph_id)
    if problem is not None:
        raise BadRequest(400, "invalid subgraph id", problem)


def check_content_type(content_type: str) -> None:
    """``content_type`` is the media type without parameters, lower-cased."""
    if content_type not in ACCEPTED_CONTENT_TYPES:
        raise BadRequest(
            415,
            "unsupported content type",
            f"send application/ld+json or application/json, not {content_type or 'nothing'}",
        )


def parse_document(
    body: bytes, limits: Limits = DEFAULT_LIMITS, context: Mapping[str, Any] | None = None
) -> list[ox.Triple]:
    """The triples of a JSON-LD body, or :class:`BadRequest` saying why there are none.

    Cheapest checks first: nesting depth by a scan that does not recurse (413 is for size, 400
    for shape), then one JSON parse for what the JSON-LD parser would crash on, run for minutes
    on or silently drop (term definitions past ``limits.max_context_terms``, ``@annotation``,
    ``@direction``, remote contexts); then pyoxigraph's parser, which cannot fetch anything,
    stopped at ``limits.max_triples``. With ``context`` (the one GETs compact with), a body
    holding an IRI that context would misread is refused too: what is accepted must read back.
    """
    if body.lstrip()[:1] != b"{":
        raise _not_an_object(body)
    if json_too_deep(body, limits.max_json_depth):
        raise BadRequest(
            400,
            "body nested too deeply",
            f"arrays and objects nest more than {limits.max_json_depth} deep",
        )
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(400, "body is not JSON", str(exc)) from exc
    if not isinstance(document, dict):
        raise BadRequest(400, "body is not a JSON object", f"got a JSON {type(document).__name__}")
    _check_keywords(document, limits)
    triples = []
    try:
        for quad in ox.parse(body, format=ox.RdfFormat.JSON_LD):
            if not isinstance(quad.graph_name, ox.DefaultGraph):
                raise BadRequest(
                    400,
                    "named graphs not allowed",
                    "send {'@context': ..., '@graph': [...]} without a top-level '@id': "
                    "the subgraph id names the graph",
                )
            triples.append(quad.triple)
            if len(triples) > limits.max_triples:
                raise BadRequest(
                    413,
                    "too many triples",
                    f"a subgraph holds at most {limits.max_triples} triples",
                )
    except (SyntaxError, ValueError) as exc:
        raise BadRequest(400, "body is not JSON-LD", str(exc)) from exc
    if not triples:
        raise BadRequest(
            400,
            "no triples",
            "the document expands to zero triples (undefined terms and relative IRIs are dropped)",
        )
    if context is not None:
        _check_readable(triples, context)
    return triples


def checked_statements(
    body: bytes, limits: Limits, context: Mapping[str, Any] | None
) -> tuple[bytes, int]:
    """:func:`parse_document` as N-Triples, and how many triples: what a worker process answers."""
    triples = parse_document(body, limits, None)
    statements = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b""
    if context is not None and _may_not_read_back(statements, context):
        _check_readable(triples, context)
    return statements, len(triples)


def _may_not_read_back(statements: bytes, context: Mapping[str, Any]) -> bool:
    """False when the N-Triples ``statements`` surely compact with ``context``: what cannot is an
    RDF-star triple term (``<<``) or an IRI whose scheme is one of the context's terms, and every
    IRI is written ``<...>``, a datatype's too. Compacting to find out cost as much as parsing the
    body (measured), so that is left to the few bodies this cannot clear."""
    if b"<<" in statements:
        return True
    return any(
        f"<{term}:".encode() in statements for term in context if not term.startswith("@")
    )


def _not_an_object(body: bytes) -> BadRequest:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        return BadRequest(400, "body is not JSON", str(exc))
    return BadRequest(400, "body is not a JSON object", f"got a JSON {type(document).__name__}")


def _check_keywords(document: dict[str, Any], limits: Limits) -> None:
    """Refuse what JSON-LD processing would crash on, fetch, or drop without a word. Iterative:
    the depth is already bounded, but a wide document must not cost a deep stack either."""
    terms = 0
    stack: list[tuple[Any, bool]] = [(document, False)]
    while stack:
        node, in_context = stack.pop()
        if isinstance(node, list):
            stack.extend((item, in_context) for item in node)
            continue
        if isinstance(node, str) and in_context:
            raise _remote(node)
        if not isinstance(node, dict):
            continue
        if in_context:
            terms += sum(1 for key in node if not key.startswith("@"))
            if terms > limits.max_context_terms:
                raise BadRequest(
                    400,
                    "too many term definitions",
                    f"the contexts of a body define at most {limits.max_context_terms} terms",
                )
            if isinstance(node.get("@import"), str):
                raise _remote(node["@import"])
        for key, value in node.items():
            if key in _UNSUPPORTED:
                raise BadRequest(400, f"{key} not supported", _UNSUPPORTED[key])
            if key == "@context":
                stack.append((value, True))
            elif in_context and isinstance(value, dict):
                # A term definition: its own (scoped) context counts as well.
                for unsupported in _UNSUPPORTED.keys() & value.keys():
                    raise BadRequest(400, f"{unsupported} not supported", _UNSUPPORTED[unsupported])
                if "@context" in value:
                    stack.append((value["@context"], True))
            elif not in_context:
                stack.append((value, False))
    return None


_UNSUPPORTED = {
    "@annotation": "JSON-LD-star annotations are not stored (the store holds plain triples)",
    "@direction": "the base direction of a string is not stored: send the text without it",
}


def _remote(reference: str) -> BadRequest:
    return BadRequest(
        400,
        "remote @context not allowed",
        f"contexts must be inline; the service never fetches {reference!r}",
    )


def _check_readable(triples: list[ox.Triple], context: Mapping[str, Any]) -> None:
    from kg_exporter.sink.jsonld import Compactor

    try:
        Compactor(context).document(triples)
    except SinkError as exc:
        raise BadRequest(422, "cannot be read back", str(exc)) from exc
