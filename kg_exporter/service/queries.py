"""What ``/sparql`` refuses before running a query: nesting the parsers cannot take, and federation.

pyoxigraph evaluates ``SERVICE <url> { ... }`` by fetching ``url`` over HTTP, which would let any
client make the Metadata Service call internal endpoints (SSRF), and it has no switch to turn that
off. A scan of the query text for the keyword was bypassed (``{} .SERVICE <...>`` read as one word),
so the decision is taken on the query's *algebra*: rdflib parses the query and translates it, and
any ``ServiceGraphPattern`` anywhere in the tree — under ``FILTER EXISTS``, in a subquery, after
``\\u0053ERVICE`` escapes, ``SILENT`` or not, by IRI or by variable — refuses it. A query rdflib
cannot parse is refused too (400, with rdflib's reason): what cannot be checked is not run. That
excludes syntax beyond SPARQL 1.1 that Oxigraph alone understands (SPARQL 1.2 triple terms, for
instance), which the contract does not promise. rdflib's parser recurses several Python frames per
level of nesting, so the depth is bounded first (:func:`~kg_exporter.service.nesting.sparql_too_deep`).

This runs in a query worker process (:mod:`kg_exporter.service.worker`), under its time limit.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import IO, Any, cast

import pyoxigraph as ox

from kg_exporter.service.limits import Limits
from kg_exporter.service.nesting import sparql_too_deep
from kg_exporter.service.validation import BadRequest

_FEDERATION = "ServiceGraphPattern"


@dataclass(frozen=True)
class QueryAnswer:
    """A serialised SPARQL result and its media type."""

    body: bytes
    content_type: str


def run_query(store: ox.Store, query: str, limits: Limits) -> QueryAnswer:
    """``query`` over the union of the graphs of ``store``, checked first (:func:`check_query`),
    its result cut off at ``limits.max_result_bytes``; :class:`BadRequest` when refused or failed.

    The result object is released here, in the thread that made it, even when serialising fails:
    pyoxigraph's result objects may only be dropped by their own thread, and one dropped by another
    (the event loop's, with the exception's traceback) was leaked whole — ~1.1 MB per failed query.
    """
    check_query(query, limits)
    output = _Bounded(limits.max_result_bytes)
    sink = cast(IO[bytes], output)
    result: Any = None
    try:
        result = store.query(query, use_default_graph_as_union=True)
        if isinstance(result, ox.QueryTriples):
            result.serialize(sink, format=ox.RdfFormat.N_TRIPLES)
            content_type = "application/n-triples"
        else:
            result.serialize(sink, format=ox.QueryResultsFormat.JSON)
            content_type = "application/sparql-results+json"
    except _ResultTooLarge as exc:
        raise BadRequest(422, "result too large", str(exc)) from None
    except SyntaxError as exc:
        raise BadRequest(400, "invalid SPARQL query", str(exc)) from None
    except (OSError, ValueError, RuntimeError) as exc:
        raise BadRequest(422, "query failed", str(exc)) from None
    finally:
        del result
    return QueryAnswer(bytes(output.buffer), content_type)


class _ResultTooLarge(OSError):
    pass


class _Bounded(io.RawIOBase):
    """A bytes buffer that refuses to grow past ``limit``: a huge result is cut off there, so it
    costs at most the limit, not its size."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if len(self.buffer) + len(data) > self.limit:
            raise _ResultTooLarge(f"the result is larger than {self.limit} bytes")
        self.buffer += data
        return len(data)


def check_query(query: str, limits: Limits) -> None:
    """Raise :class:`BadRequest` (400) when ``query`` nests too deeply, does not parse as SPARQL
    1.1, or holds a ``SERVICE`` pattern."""
    if sparql_too_deep(query, limits.max_query_depth):
        raise BadRequest(
            400,
            "query nested too deeply",
            f"groups, parentheses and brackets nest more than {limits.max_query_depth} deep",
        )
    refuse_federation(query)


def refuse_federation(query: str) -> None:
    """Raise :class:`BadRequest` (400) when the algebra of ``query`` holds a SERVICE pattern, or
    when it cannot be parsed to find out."""
    from pyparsing import ParseBaseException
    from rdflib.plugins.sparql.algebra import translateQuery
    from rdflib.plugins.sparql.parser import parseQuery

    try:
        algebra = translateQuery(parseQuery(query)).algebra
    except (ParseBaseException, RecursionError) as exc:
        raise BadRequest(400, "invalid SPARQL query", str(exc)) from None
    except Exception as exc:  # rdflib raises plain Exceptions for semantic errors
        raise BadRequest(400, "invalid SPARQL query", f"{type(exc).__name__}: {exc}") from None
    if _holds_service(algebra):
        raise BadRequest(
            400,
            "SERVICE not allowed",
            "the Metadata Service answers from its own store and never queries other endpoints",
        )


def _holds_service(algebra: Any) -> bool:
    from rdflib.plugins.sparql.parserutils import CompValue

    stack = [algebra]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, CompValue):
            if node.name == _FEDERATION:
                return True
            stack.extend(node.values())
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list | tuple | set):
            stack.extend(node)
    return False
