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

import functools
import heapq
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import pyoxigraph as ox

from kg_exporter.errors import SinkError
from kg_exporter.service.limits import Limits
from kg_exporter.service.nesting import json_too_deep
from kg_exporter.sink.ids import id_problem
from kg_exporter.sink.jsonld import Compactor

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


def parse_document(body: bytes, limits: Limits = DEFAULT_LIMITS) -> list[ox.Triple]:
    """The triples of a JSON-LD body, or :class:`BadRequest` saying why there are none.

    Cheapest checks first: nesting depth by a scan that does not recurse (413 is for size, 400
    for shape), then one JSON parse for what the JSON-LD parser would crash on, run for minutes
    on or silently drop (term definitions past ``limits.max_context_terms``, ``@annotation``,
    ``@direction``, remote contexts); then pyoxigraph's parser, which cannot fetch anything,
    stopped at ``limits.max_triples``.
    """
    check_body(body, limits)
    triples = []
    try:
        for quad in ox.parse(body, format=ox.RdfFormat.JSON_LD):
            if not isinstance(quad.graph_name, ox.DefaultGraph):
                raise _named_graphs()
            triples.append(quad.triple)
            if len(triples) > limits.max_triples:
                raise _too_many_triples(limits)
    except (SyntaxError, ValueError) as exc:
        raise _refusal(body, limits, exc) from exc
    if not triples:
        raise _no_triples()
    return triples


def check_body(body: bytes, limits: Limits) -> None:
    """What is refused before the JSON-LD parser sees ``body`` (see :func:`parse_document`)."""
    if body.lstrip()[:1] != b"{":
        raise _not_an_object(body)
    if json_too_deep(body, limits.max_json_depth):
        raise BadRequest(
            400,
            "body nested too deeply",
            f"arrays and objects nest more than {limits.max_json_depth} deep",
        )
    if _may_need_checking(body, limits):
        _check_keywords(_json_object(body), limits)


def checked_statements(
    body: bytes, limits: Limits, readable: Compactor | None
) -> tuple[bytes, int]:
    """:func:`parse_document` as N-Triples, and how many triples: what a worker process answers,
    and what the service writes. With ``readable`` (the compactor GETs use), a body holding an
    IRI its context would misread is refused (422): what is accepted must read back.

    A body of at most :data:`IN_PROCESS_BYTES` (every document kg-exporter renders) goes from
    the parser to N-Triples inside pyoxigraph, without a Python object per triple: half the CPU
    (measured on rendered workload subgraphs: 86 against 162 us). The checks are the same; the
    triple limit is checked on the result, which is fine at that size (a 64 KB body expands to
    well under 100,000 triples). Larger bodies are counted as they are parsed, so a huge
    expansion stops at the limit instead of being held whole."""
    if len(body) <= IN_PROCESS_BYTES:
        statements = _small_statements(body, limits)
        count = statements.count(b"\n")
        if readable is not None and may_not_read_back(statements, readable.terms):
            triples = [q.triple for q in ox.parse(statements, format=ox.RdfFormat.N_TRIPLES)]
            _check_readable(triples, readable)
        return statements, count
    triples = parse_document(body, limits)
    statements = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b""
    check_statement_bytes(statements, limits)
    if readable is not None and may_not_read_back(statements, readable.terms):
        _check_readable(triples, readable)
    return statements, len(triples)


def _small_statements(body: bytes, limits: Limits) -> bytes:
    check_body(body, limits)
    try:
        quads = ox.parse(body, format=ox.RdfFormat.JSON_LD)
        statements = ox.serialize(quads, format=ox.RdfFormat.N_TRIPLES) or b""
    except ValueError as exc:
        # The N-Triples writer refuses a quad in a named graph (a top-level @id next to @graph).
        if "named graph" in str(exc):
            raise _named_graphs() from exc
        raise _refusal(body, limits, exc) from exc
    except SyntaxError as exc:
        raise _refusal(body, limits, exc) from exc
    if not statements:
        raise _no_triples()
    if statements.count(b"\n") > limits.max_triples:
        raise _too_many_triples(limits)
    check_statement_bytes(statements, limits)
    return statements


def _named_graphs() -> BadRequest:
    return BadRequest(
        400,
        "named graphs not allowed",
        "send {'@context': ..., '@graph': [...]} without a top-level '@id': "
        "the subgraph id names the graph",
    )


def _no_triples() -> BadRequest:
    return BadRequest(
        400,
        "no triples",
        "the document expands to zero triples (undefined terms and relative IRIs are dropped)",
    )


def check_statement_bytes(statements: bytes, limits: Limits) -> None:
    """Refuse statements past ``limits.max_statement_bytes`` (413)."""
    if len(statements) > limits.max_statement_bytes:
        raise BadRequest(
            413,
            "statements too large",
            f"a subgraph's statements take at most {limits.max_statement_bytes} bytes as N-Triples",
        )


BATCH_TOO_LARGE = "batch statements too large"


def batch_too_large(limits: Limits) -> BadRequest:
    """The refusal of a whole batch whose statements add up past ``limits.max_statement_bytes``
    (a client then sends its subgraphs in smaller batches or one by one)."""
    return BadRequest(
        413,
        BATCH_TOO_LARGE,
        f"a batch's statements take at most {limits.max_statement_bytes} bytes as N-Triples: "
        "send fewer subgraphs per batch",
    )


def expansion_bound(body: bytes) -> int:
    """Roughly the most bytes of N-Triples the JSON-LD ``body`` can expand to: a statement per
    value (commas and strings bound how many), each of at most three IRIs, each at most the two
    longest strings of the body put together (a prefix and what follows it). Rendered subgraphs
    come to 0.2-0.3 MB; a 30 KB prefix used 3,000 times to 270 MB (it makes 90 MB). 17 us for a
    5 KB body."""
    pieces = body.split(b'"')
    longest = heapq.nlargest(2, map(len, pieces[1::2]))
    values = body.count(b",") + len(pieces) // 2 + 1
    return values * (3 * sum(longest) + 64)


#: Largest :func:`expansion_bound` of a body the service expands itself; a larger one is expanded
#: in a worker, under its memory limit.
IN_PROCESS_EXPANSION = 4 * 1024 * 1024


def _too_many_triples(limits: Limits) -> BadRequest:
    return BadRequest(
        413, "too many triples", f"a subgraph holds at most {limits.max_triples} triples"
    )


def may_not_read_back(statements: bytes, terms: frozenset[str]) -> bool:
    """False when the N-Triples ``statements`` surely compact with a context of these ``terms``:
    what cannot is an RDF-star triple term (``<<``) or an IRI whose scheme is one of the terms,
    and every IRI is written ``<...>``, a datatype's too. Even a cheap check of every IRI cost a
    tenth of the parse (measured), so that is left to the few bodies this cannot clear."""
    if b"<<" in statements:
        return True
    return _schemes(terms).search(statements) is not None


@functools.lru_cache(maxsize=8)
def _schemes(terms: frozenset[str]) -> re.Pattern[bytes]:
    # One pass for all the terms: a search per term cost a fifth of a body's checks (measured),
    # as every IRI starts with the '<' each search stops at.
    alternatives = b"|".join(re.escape(term.encode()) for term in sorted(terms)) or b"(?!)"
    return re.compile(rb"<(?:" + alternatives + rb"):")


#: Content type of N-Triples, and how a batch line names its statements (see :mod:`.batch`).
N_TRIPLES = "n-triples"


def checked_ntriples(body: bytes, limits: Limits, readable: Compactor | None) -> tuple[bytes, int]:
    """:func:`checked_statements` of N-Triples: the statements as pyoxigraph writes them (one
    per line, each term in one spelling), and how many, or :class:`BadRequest`.

    What JSON-LD cannot say is refused here too: RDF 1.2 triple terms (``<<( ... )>>``, which
    nest: more than ``limits.max_json_depth`` openings are refused before any parser sees them)
    and base directions (``"..."@en--ltr``). N-Triples has no graph names, no relative IRIs and
    nothing to fetch; its parser holds one statement at a time, so its cost is linear in the body.
    """
    nested = body.count(b"<<(")
    if nested > limits.max_json_depth:
        raise BadRequest(
            400,
            "body nested too deeply",
            f"triple terms nest more than {limits.max_json_depth} deep",
        )
    triples = []
    try:
        for quad in ox.parse(body, format=ox.RdfFormat.N_TRIPLES):
            triples.append(quad.triple)
            if len(triples) > limits.max_triples:
                raise _too_many_triples(limits)
    except (SyntaxError, ValueError) as exc:
        raise BadRequest(400, "body is not N-Triples", str(exc)) from exc
    if not triples:
        raise BadRequest(400, "no triples", "the statements hold no triple")
    if nested and any(isinstance(t.object, ox.Triple) for t in triples):
        raise BadRequest(
            400, "triple terms not supported", "the store holds plain triples (RDF 1.1)"
        )
    if b"--" in body and any(
        isinstance(t.object, ox.Literal) and t.object.direction is not None for t in triples
    ):
        raise BadRequest(400, "@direction not supported", _UNSUPPORTED["@direction"])
    statements = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b""
    check_statement_bytes(statements, limits)
    if readable is not None and may_not_read_back(statements, readable.terms):
        _check_readable(triples, readable)
    return statements, len(triples)


def plain_ntriples(
    body: bytes, limits: Limits, readable: Compactor | None
) -> tuple[bytes, int] | None:
    """:func:`checked_ntriples` of the common body, for about half its CPU, cheap enough for the
    service itself; None for a body that needs the full checks (in a worker).

    The common body holds no triple term (``<<``), no base direction (``--``) and fewer lines
    than ``limits.max_triples`` (N-Triples has one statement per line, ended by CR or LF): then
    the only checks left are the syntax, the result not being empty and reading back, and the
    statements go from the parser to their canonical form inside pyoxigraph without a Python
    list of triples. Measured on rendered workload subgraphs (72-83 triples): 87-109 against
    160-194 us. Parsing N-Triples costs time linear in the body and never recurses without
    triple terms, so the service can afford it for any body within the size limit.
    """
    # Lines end at CR or LF (CR LF counts twice: such a body goes to a worker sooner): a body
    # of more statements than the limit is never parsed whole here, only up to it in a worker.
    lines = body.count(b"\n") + body.count(b"\r")
    if b"<<" in body or b"--" in body or lines >= limits.max_triples:
        return None
    try:
        statements = ox.serialize(
            ox.parse(body, format=ox.RdfFormat.N_TRIPLES), format=ox.RdfFormat.N_TRIPLES
        )
    except (SyntaxError, ValueError) as exc:
        raise BadRequest(400, "body is not N-Triples", str(exc)) from exc
    if not statements:
        raise BadRequest(400, "no triples", "the statements hold no triple")
    count = statements.count(b"\n")
    if count > limits.max_triples:  # more than one statement on a line
        raise _too_many_triples(limits)
    if readable is not None and may_not_read_back(statements, readable.terms):
        triples = [quad.triple for quad in ox.parse(statements, format=ox.RdfFormat.N_TRIPLES)]
        _check_readable(triples, readable)
    return statements, count


def _check_readable(triples: list[ox.Triple], readable: Compactor) -> None:
    try:
        readable.check(triples)
    except SinkError as exc:
        raise BadRequest(422, "cannot be read back", str(exc)) from exc


#: Largest body :func:`in_process` lets the service parse itself rather than in a worker.
IN_PROCESS_BYTES = 64 * 1024


def in_process(body: bytes, limits: Limits) -> bool:
    """Whether ``body`` is cheap enough to parse in the service's own event loop: small
    (:data:`IN_PROCESS_BYTES`), nested within the limit, and with one context at most (no scoped,
    embedded or type-scoped contexts, whose re-application at every use is what made small bodies
    cost minutes) of fewer terms than the limit. Every kg-exporter document is; its parse then
    costs what it did before workers existed (~0.3 ms), and any body that passes at most ~60 ms
    (a 64 KB ``@list`` of 32,000 items, measured), instead of a round trip to a worker process.
    Raises :class:`BadRequest` for what :func:`parse_document` would refuse anyway."""
    if len(body) > IN_PROCESS_BYTES or json_too_deep(body, limits.max_json_depth):
        return False
    if expansion_bound(body) > IN_PROCESS_EXPANSION:
        return False  # it may expand to more than the service should hold for one request
    if not _may_need_checking(body, limits):
        return body.count(b'"@context"') <= 1
    # Keys may be spelled with escapes ("@\u0063ontext"): count on the parsed document.
    document = _json_object(body)
    return _check_keywords(document, limits) <= 1


def _may_need_checking(body: bytes, limits: Limits) -> bool:
    """Whether :func:`_check_keywords` could refuse ``body``. Not when it spells none of the
    refused keywords, has no ``\\u`` escape that could spell one, and has fewer keys than the
    term limit (each term is a key): the common case, which skips a JSON parse and a walk."""
    if b"\\u" in body or any(keyword in body for keyword in _SUSPECT):
        return True
    if body.count(b'"') <= 2 * limits.max_context_terms:
        # A key takes two quotes: so few cannot make more keys than the limit. Counting quotes
        # costs a twentieth of finding keys (1 against 26-34 us on rendered subgraphs).
        return False
    return len(_KEY.findall(body)) > limits.max_context_terms


_SUSPECT = (b"@import", b"@annotation", b"@direction", b"@propagate")
# The end of a key: a closing quote, then a colon (a string holding '":' only counts more).
_KEY = re.compile(rb'"\s*:')


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(400, "body is not JSON", str(exc)) from exc
    if not isinstance(document, dict):
        raise BadRequest(400, "body is not a JSON object", f"got a JSON {type(document).__name__}")
    return document


def _refusal(body: bytes, limits: Limits, parse_error: Exception) -> BadRequest:
    """Why the JSON-LD parser refused ``body``, as clearly as can be said."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        return BadRequest(400, "body is not JSON", str(exc))
    if not isinstance(document, dict):
        return BadRequest(400, "body is not a JSON object", f"got a JSON {type(document).__name__}")
    _check_keywords(document, limits)  # a remote context, most likely
    return BadRequest(400, "body is not JSON-LD", str(parse_error))


def _not_an_object(body: bytes) -> BadRequest:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        return BadRequest(400, "body is not JSON", str(exc))
    return BadRequest(400, "body is not a JSON object", f"got a JSON {type(document).__name__}")


def _check_keywords(document: dict[str, Any], limits: Limits) -> int:
    """Refuse what JSON-LD processing would crash on, fetch, or drop without a word; the number
    of contexts found. Iterative: the depth is already bounded, but a wide document must not cost
    a deep stack either."""
    terms = contexts = 0
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
                contexts += 1
                stack.append((value, True))
            elif in_context and isinstance(value, dict):
                # A term definition: its own (scoped) context counts as well.
                for unsupported in _UNSUPPORTED.keys() & value.keys():
                    raise BadRequest(400, f"{unsupported} not supported", _UNSUPPORTED[unsupported])
                if "@context" in value:
                    contexts += 1
                    stack.append((value["@context"], True))
            elif not in_context:
                stack.append((value, False))
    return contexts


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
