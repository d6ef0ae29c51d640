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
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import pyoxigraph as ox

from kg_exporter.sink.ids import id_problem

#: Default limit of a request body, in bytes.
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
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


def parse_document(body: bytes) -> list[ox.Triple]:
    """The triples of a JSON-LD body, or :class:`BadRequest` saying why there are none.

    The body goes straight to pyoxigraph's parser, which cannot fetch anything; a plain JSON parse
    to tell the client *what* is wrong happens only once something is.
    """
    if body.lstrip()[:1] != b"{":
        raise _refusal(body, None)
    try:
        quads = list(ox.parse(body, format=ox.RdfFormat.JSON_LD))
    except (SyntaxError, ValueError) as exc:
        raise _refusal(body, exc) from exc
    triples = []
    for quad in quads:
        if not isinstance(quad.graph_name, ox.DefaultGraph):
            raise BadRequest(
                400,
                "named graphs not allowed",
                "send {'@context': ..., '@graph': [...]} without a top-level '@id': "
                "the subgraph id names the graph",
            )
        triples.append(quad.triple)
    if not triples:
        raise BadRequest(
            400,
            "no triples",
            "the document expands to zero triples (undefined terms and relative IRIs are dropped)",
        )
    return triples


def _refusal(body: bytes, parse_error: Exception | None) -> BadRequest:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        return BadRequest(400, "body is not JSON", str(exc))
    if not isinstance(document, dict):
        return BadRequest(400, "body is not a JSON object", f"got a JSON {type(document).__name__}")
    remote = next(_remote_contexts(document), None)
    if remote is not None:
        return BadRequest(
            400,
            "remote @context not allowed",
            f"contexts must be inline; the service never fetches {remote!r}",
        )
    detail = str(parse_error) if parse_error else "a JSON-LD document here is one JSON object"
    return BadRequest(400, "body is not JSON-LD", detail)


def _remote_contexts(node: Any) -> Iterator[str]:
    """References to contexts that would have to be fetched, anywhere in the document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "@context":
                yield from _context_references(value)
            yield from _remote_contexts(value)
    elif isinstance(node, list):
        for item in node:
            yield from _remote_contexts(item)


def _context_references(context: Any) -> Iterator[str]:
    if isinstance(context, str):
        yield context
    elif isinstance(context, list):
        for item in context:
            yield from _context_references(item)
    elif isinstance(context, dict) and isinstance(context.get("@import"), str):
        yield context["@import"]
