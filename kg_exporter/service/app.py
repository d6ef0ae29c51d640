"""The reference Metadata Service as an aiohttp application: the ``/subgraph`` API of contracts.md
(and ``POST /subgraph``, many subgraphs per request: :mod:`kg_exporter.service.batch`),
``/sparql`` over the union of all subgraphs, ``/metrics`` and ``/healthz``.

Checks run cheapest first and before anything is read or written: token (401), id (400), media type
(415), declared size (413), then the body is read with the size limit enforced while reading (a
10 MB body is refused after the first 4 MB, never held whole) and parsed (400). A refused request
has changed nothing.

Writes run on the event loop thread by default. pyoxigraph releases the GIL while RocksDB works,
so a writer thread could in principle overlap writes with parsing; measured on a 2-core machine
shared with the client (alternating runs, same load), it bought nothing for replaces and cost
CPU on creates, so it is an option (``write_executor``), not the default. SPARQL queries, which
can run long, always go to their own threads so a slow query stalls nothing else.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any, TypeVar

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from kg_exporter.resources import context as product_context
from kg_exporter.service.batch import NDJSON, Refused, read_batch, results_body
from kg_exporter.service.batch import digest as batch_digest
from kg_exporter.service.metrics import ServiceMetrics
from kg_exporter.service.queries import refuse_federation
from kg_exporter.service.store import PutResult, Statements, SubgraphStore, n_triples
from kg_exporter.service.validation import (
    DEFAULT_MAX_BODY_BYTES,
    BadRequest,
    check_content_type,
    parse_document,
    subgraph_id_from_segment,
)
from kg_exporter.sink.ids import id_path_segment
from kg_exporter.sink.jsonld import Compactor
from kg_exporter.sink.subgraph_api import UNCHANGED_HEADER
from kg_exporter.sink.token import TokenFile

log = logging.getLogger(__name__)

SUBGRAPH_ROUTE = "/subgraph/{id}"
_SUBGRAPH_PREFIX = "/subgraph/"
_PROTECTED = ("/subgraph", "/sparql")
_T = TypeVar("_T")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(
    store: SubgraphStore,
    *,
    token: TokenFile | None = None,
    registry: CollectorRegistry | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    context: Mapping[str, Any] | None = None,
    write_executor: Executor | None = None,
    query_executor: Executor | None = None,
) -> web.Application:
    """The service over ``store``; requests need ``Bearer <token>`` when ``token`` is given.

    ``write_executor`` runs store writes (default: none, they run on the event loop);
    ``query_executor`` runs SPARQL queries (default: two threads the app owns and shuts down on
    cleanup).
    """
    service = _Service(
        store,
        token=token,
        metrics=ServiceMetrics(registry or CollectorRegistry(), store.count),
        max_body_bytes=max_body_bytes,
        compactor=Compactor(product_context() if context is None else context),
        write_executor=write_executor,
        query_executor=query_executor,
    )
    # client_max_size makes aiohttp stop reading (and answer 413) as soon as a body outgrows it.
    app = web.Application(
        client_max_size=max_body_bytes, middlewares=[service.observe, service.authorize]
    )
    app.router.add_get("/subgraph", service.list_ids)
    app.router.add_post("/subgraph", service.batch)
    app.router.add_route("*", "/subgraph/{id:.*}", service.subgraph, name="subgraph")
    app.router.add_route("GET", "/sparql", service.sparql)
    app.router.add_route("POST", "/sparql", service.sparql)
    app.router.add_get("/healthz", service.healthz)
    app.router.add_get("/metrics", service.metrics_page)
    app.on_cleanup.append(service.close)
    return app


class _Service:
    def __init__(
        self,
        store: SubgraphStore,
        *,
        token: TokenFile | None,
        metrics: ServiceMetrics,
        max_body_bytes: int,
        compactor: Compactor,
        write_executor: Executor | None,
        query_executor: Executor | None,
    ) -> None:
        self.store = store
        self.token = token
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.compactor = compactor
        self._owned: list[Executor] = []
        self.writer = write_executor
        self.queries = query_executor or self._own(ThreadPoolExecutor(2, "sparql"))

    def _own(self, executor: Executor) -> Executor:
        self._owned.append(executor)
        return executor

    async def _write_call(self, call: Callable[[], _T]) -> _T:
        if self.writer is None:
            return call()
        return await asyncio.get_running_loop().run_in_executor(self.writer, call)

    # -- middlewares ---------------------------------------------------------------------------

    @web.middleware
    async def observe(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Turn every outcome into a JSON answer, and count it."""
        started = time.perf_counter()
        try:
            response = await handler(request)
        except BadRequest as exc:
            response = _error(exc)
        except web.HTTPRequestEntityTooLarge:
            response = _error(_too_large(self.max_body_bytes))
        except web.HTTPException as exc:
            response = _error(BadRequest(exc.status, exc.reason, exc.text), exc.headers)
        except Exception:
            log.exception("%s %s failed", request.method, request.path)
            response = _error(BadRequest(500, "internal error", "see the service log"))
        self.metrics.observe(
            request.method, _route(request), response.status, time.perf_counter() - started
        )
        return response

    @web.middleware
    async def authorize(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self.token is not None and request.path.startswith(_PROTECTED):
            scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not self.token.matches(presented.strip()):
                raise _Unauthorized(
                    401, "unauthorized", "send 'Authorization: Bearer <token>' with a valid token"
                )
        return await handler(request)

    # -- /subgraph -----------------------------------------------------------------------------

    async def subgraph(self, request: web.Request) -> web.StreamResponse:
        raw = request.raw_path.partition("?")[0][len(_SUBGRAPH_PREFIX) :]
        subgraph_id = subgraph_id_from_segment(raw)
        method = request.method
        if method in ("PUT", "POST"):
            return await self._write(request, subgraph_id, create_only=method == "POST")
        if method == "GET":
            triples = self.store.get(subgraph_id)
            if triples is None:
                raise _not_found(subgraph_id)
            return _json(self.compactor.document(triples), content_type="application/ld+json")
        if method == "DELETE":
            if not await self._write_call(lambda: self.store.delete(subgraph_id)):
                raise _not_found(subgraph_id)
            return web.Response(status=204)
        raise web.HTTPMethodNotAllowed(method, ["GET", "PUT", "POST", "DELETE"])

    async def _write(
        self, request: web.Request, subgraph_id: str, *, create_only: bool
    ) -> web.StreamResponse:
        check_content_type(request.content_type.lower())
        body = await self._body(request)
        digest = batch_digest(body)
        if not create_only and self.store.unchanged(subgraph_id, digest):
            # The very bytes last written here: validated then, so nothing to parse or write.
            return _unchanged()
        triples = parse_document(body)
        result = await self._write_call(
            lambda: self.store.put(
                subgraph_id, triples, create_only=create_only, body_digest=digest
            )
        )
        if result is PutResult.CONFLICT:
            raise BadRequest(
                409, "subgraph exists", f"{subgraph_id} exists; PUT replaces, POST only creates"
            )
        if result is PutResult.CREATED:
            location = _SUBGRAPH_PREFIX + id_path_segment(subgraph_id)
            return web.Response(status=201, headers={"Location": location})
        if result is PutResult.UNCHANGED:
            return _unchanged()
        return web.Response(status=204)

    async def _body(self, request: web.Request) -> bytes:
        length = request.content_length
        if length is not None and length > self.max_body_bytes:
            raise _too_large(self.max_body_bytes)
        try:
            return await request.read()
        except web.HTTPRequestEntityTooLarge as exc:
            raise _too_large(self.max_body_bytes) from exc

    async def batch(self, request: web.Request) -> web.StreamResponse:
        """``POST /subgraph``: see :mod:`kg_exporter.service.batch`."""
        if request.content_type.lower() != NDJSON:
            raise BadRequest(
                415,
                "unsupported content type",
                f"send {NDJSON}, one {{\"id\": ..., \"document\": ...}} per line",
            )
        lines = read_batch(await self._body(request))
        results: list[dict[str, Any]] = []
        writes: list[Statements] = []
        written: list[int] = []
        for line in lines:
            if isinstance(line, Refused):
                results.append(line.result())
            elif self.store.unchanged(line.subgraph_id, line.digest):
                results.append({"id": line.subgraph_id, "status": 204, "unchanged": True})
            else:
                try:
                    statements = n_triples(parse_document(line.body))
                except BadRequest as exc:
                    results.append(Refused(line.subgraph_id, exc).result())
                    continue
                written.append(len(results))
                results.append({"id": line.subgraph_id})
                writes.append(Statements(line.subgraph_id, statements, line.digest))
        if writes:
            # A thread: a bulk load takes long enough to be felt, and releases the GIL.
            outcomes = await asyncio.to_thread(self.store.put_many, writes)
            for index, outcome in zip(written, outcomes, strict=True):
                results[index].update(_BATCH_RESULTS[outcome])
        return web.Response(body=results_body(results), content_type="application/json")

    async def list_ids(self, request: web.Request) -> web.StreamResponse:
        return _json(self.store.ids(request.query.get("prefix", "")))

    # -- /sparql -------------------------------------------------------------------------------

    async def sparql(self, request: web.Request) -> web.StreamResponse:
        query = await _sparql_text(request)
        refuse_federation(query)
        loop = asyncio.get_running_loop()
        try:
            answer = await loop.run_in_executor(self.queries, self.store.query, query)
        except SyntaxError as exc:
            raise BadRequest(400, "invalid SPARQL query", str(exc)) from exc
        return web.Response(body=answer.body, content_type=answer.content_type)

    # -- operations ----------------------------------------------------------------------------

    async def healthz(self, request: web.Request) -> web.StreamResponse:
        return _json({"status": "ok", "subgraphs": self.store.count()})

    async def metrics_page(self, request: web.Request) -> web.StreamResponse:
        return web.Response(
            body=generate_latest(self.metrics.registry),
            headers={"Content-Type": CONTENT_TYPE_LATEST},
        )

    async def close(self, app: web.Application) -> None:
        for executor in self._owned:
            # Queries still running are abandoned; the store is flushed after this.
            executor.shutdown(wait=False, cancel_futures=True)


class _Unauthorized(BadRequest):
    pass


async def _sparql_text(request: web.Request) -> str:
    if request.method == "GET":
        query = request.query.get("query")
    elif request.content_type == "application/sparql-query":
        query = await request.text()
    elif request.content_type == "application/x-www-form-urlencoded":
        query = (await request.post()).get("query")  # type: ignore[assignment]
    else:
        raise BadRequest(
            415,
            "unsupported content type",
            "POST application/sparql-query, or a form with a 'query' field",
        )
    if not isinstance(query, str) or not query.strip():
        raise BadRequest(400, "missing query", "pass the SPARQL query as 'query'")
    return query


def _route(request: web.Request) -> str:
    info = request.match_info.route.resource
    if info is None:
        return "other"
    return SUBGRAPH_ROUTE if info.name == "subgraph" else info.canonical


_BATCH_RESULTS: dict[PutResult, dict[str, Any]] = {
    PutResult.CREATED: {"status": 201},
    PutResult.REPLACED: {"status": 204},
    PutResult.UNCHANGED: {"status": 204, "unchanged": True},
}


def _unchanged() -> web.Response:
    # Still 204 as the contract says; the header lets a client that cares (backfill's summary)
    # tell "already so" from "replaced", and one that does not ignores it.
    return web.Response(status=204, headers={UNCHANGED_HEADER: "true"})


def _not_found(subgraph_id: str) -> BadRequest:
    return BadRequest(404, "no such subgraph", subgraph_id)


def _too_large(limit: int) -> BadRequest:
    return BadRequest(413, "body too large", f"the limit is {limit} bytes")


def _json(value: Any, *, status: int = 200, content_type: str = "application/json") -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
        content_type=content_type,
        charset="utf-8",
    )


def _error(exc: BadRequest, headers: Mapping[str, str] | None = None) -> web.Response:
    response = _json(exc.body(), status=exc.status)
    if exc.status == 413:
        # The rest of the body is not wanted: close rather than keep reading it for keep-alive.
        response.force_close()
    if isinstance(exc, _Unauthorized):
        response.headers["WWW-Authenticate"] = 'Bearer realm="kg-exporter"'
    if headers and "Allow" in headers:
        response.headers["Allow"] = headers["Allow"]
    return response
