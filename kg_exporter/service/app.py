"""The reference Metadata Service as an aiohttp application: the ``/subgraph`` API of contracts.md
(and ``POST /subgraph``, many subgraphs per request: :mod:`kg_exporter.service.batch`),
``/sparql`` over the union of all subgraphs, ``/metrics`` and ``/healthz``.

Checks run cheapest first and before anything is read or written: token (401), id (400), media type
(415), declared size (413), then the body is read with the size limit enforced while reading (a
10 MB body is refused after the first 4 MB, never held whole) and parsed (400). A refused request
has changed nothing.

Bodies are parsed, and queries run, in worker processes (:mod:`kg_exporter.service.workers`)
under the limits of :class:`~kg_exporter.service.limits.Limits`: native code that crashes,
allocates without bound or runs for minutes ends a worker, never the service, and the event loop
stays free to answer ``/healthz`` and other writers meanwhile. Queries read a checkpoint of the
store (:mod:`kg_exporter.service.snapshots`); over an in-memory store (tests, demos) they run in a
thread of the service instead, without a time limit.

Small writes run on the event loop thread. pyoxigraph releases the GIL while RocksDB works, so a
writer thread could in principle overlap writes with parsing; measured on a 2-core machine shared
with the client (alternating runs, same load), it bought nothing for replaces and cost CPU on
creates, so it is an option (``write_executor``). A write of more than
:data:`LARGE_WRITE_TRIPLES` triples always goes to a thread: it takes long enough to be felt.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Executor
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from kg_exporter.errors import SinkError
from kg_exporter.resources import context as product_context
from kg_exporter.service.batch import (
    NDJSON,
    Entry,
    Refused,
    parse_bodies,
    read_batch,
    read_flat,
    refusal,
    results_body,
)
from kg_exporter.service.batch import digest as batch_digest
from kg_exporter.service.flat import flat_statements
from kg_exporter.service.group import GroupWriter
from kg_exporter.service.limits import Limits
from kg_exporter.service.metrics import ServiceMetrics
from kg_exporter.service.nesting import json_too_deep, sparql_too_deep
from kg_exporter.service.snapshots import DIRECTORY as SNAPSHOTS_DIRECTORY
from kg_exporter.service.snapshots import Snapshots
from kg_exporter.service.store import PutResult, Statements, SubgraphStore
from kg_exporter.service.validation import (
    IN_PROCESS_BYTES,
    BadRequest,
    check_content_type,
    checked_statements,
    in_process,
    subgraph_id_from_segment,
)
from kg_exporter.service.worker import PARSE, QUERY
from kg_exporter.service.workers import WorkerPool
from kg_exporter.sink.ids import id_path_segment
from kg_exporter.sink.jsonld import Compactor
from kg_exporter.sink.subgraph_api import UNCHANGED_HEADER
from kg_exporter.sink.token import TokenFile

log = logging.getLogger(__name__)

SUBGRAPH_ROUTE = "/subgraph/{id}"
_SUBGRAPH_PREFIX = "/subgraph/"
_PROTECTED = ("/subgraph", "/sparql")
_T = TypeVar("_T")
#: Writes (and GETs) of more triples than this leave the event loop for a thread.
LARGE_WRITE_TRIPLES = 2_000

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(
    store: SubgraphStore,
    *,
    token: TokenFile | None = None,
    registry: CollectorRegistry | None = None,
    limits: Limits | None = None,
    max_body_bytes: int | None = None,
    context: Mapping[str, Any] | None = None,
    write_executor: Executor | None = None,
) -> web.Application:
    """The service over ``store``; requests need ``Bearer <token>`` when ``token`` is given.

    ``limits`` bound what one request may cost (``max_body_bytes`` overrides its body limit);
    ``write_executor`` runs store writes (default: none, small ones run on the event loop).
    """
    limits = limits or Limits()
    if max_body_bytes is not None:
        limits = dataclasses.replace(limits, max_body_bytes=max_body_bytes)
    context = product_context() if context is None else context
    service = _Service(
        store,
        token=token,
        metrics=ServiceMetrics(registry or CollectorRegistry(), store.count),
        limits=limits,
        context=context,
        write_executor=write_executor,
    )
    # client_max_size makes aiohttp stop reading (and answer 413) as soon as a body outgrows it.
    app = web.Application(
        client_max_size=limits.max_body_bytes, middlewares=[service.observe, service.authorize]
    )
    app.router.add_get("/subgraph", service.list_ids)
    app.router.add_post("/subgraph", service.batch)
    app.router.add_route("*", "/subgraph/{id:.*}", service.subgraph, name="subgraph")
    app.router.add_route("GET", "/sparql", service.sparql)
    app.router.add_route("POST", "/sparql", service.sparql)
    app.router.add_get("/healthz", service.healthz)
    app.router.add_get("/metrics", service.metrics_page)
    # On shutdown, before aiohttp waits for requests under way: stopping the workers ends the
    # queries and parses those requests wait on, so SIGTERM is not held up by them.
    app.on_shutdown.append(service.close)
    app.on_startup.append(service.warm)
    return app


class _Service:
    def __init__(
        self,
        store: SubgraphStore,
        *,
        token: TokenFile | None,
        metrics: ServiceMetrics,
        limits: Limits,
        context: Mapping[str, Any],
        write_executor: Executor | None,
    ) -> None:
        self.store = store
        self.token = token
        self.metrics = metrics
        self.limits = limits
        self.max_body_bytes = limits.max_body_bytes
        self.compactor = Compactor(context)
        # What cannot be compacted (stored before writes were checked for it) reads back expanded.
        self.expanded = Compactor({})
        self.writer = write_executor
        #: PUTs under way together are written together (see kg_exporter.service.group).
        self.group = GroupWriter(store)
        self.warming: asyncio.Task[None] | None = None
        init = {"context": dict(context), "limits": dataclasses.asdict(limits)}
        self.parsers = WorkerPool(
            PARSE,
            size=limits.parse_workers,
            memory_bytes=limits.parse_memory_bytes,
            init=init,
            queue_seconds=limits.queue_seconds,
        )
        self.queries = WorkerPool(
            QUERY,
            size=limits.query_workers,
            memory_bytes=limits.query_memory_bytes,
            init=init,
            queue_seconds=limits.queue_seconds,
        )
        self.snapshots = (
            Snapshots(Path(store.path) / SNAPSHOTS_DIRECTORY, store.generation, store.backup)
            if store.path is not None
            else None
        )

    async def _write_call(self, call: Callable[[], _T], *, large: bool = False) -> _T:
        if self.writer is None and not large:
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
        route = _route(request)
        self.metrics.observe(request.method, route, response.status, time.perf_counter() - started)
        if route == SUBGRAPH_ROUTE and request.method in ("PUT", "POST"):
            unchanged = response.headers.get(UNCHANGED_HEADER) == "true"
            self.metrics.wrote(response.status, unchanged=unchanged)
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
            return await self._read(subgraph_id)
        if method == "DELETE":
            staged = self.store.has_staged(subgraph_id)
            if not await self._write_call(lambda: self.store.delete(subgraph_id), large=staged):
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
        # Rendered JSON-LD first (bounded, see flat.py); then the parser here when the body is
        # cheap to parse and cannot expand too far (in_process); else in a worker. The first two
        # refuse a body nested too deeply themselves; only the worker's path checks it here.
        flat = flat_statements(body, self.limits, self.compactor)
        self.metrics.read_bodies(flat=flat is not None)
        if flat is not None:
            statements, count = flat
        elif in_process(body, self.limits):
            statements, count = checked_statements(body, self.limits, self.compactor)
        else:
            self._check_depth(body)
            answer, statements = await self.parsers.call(
                {"op": PARSE}, body, seconds=self.limits.parse_seconds
            )
            if not answer.get("ok"):
                raise refusal(answer)
            count = int(answer["triples"])
        large = count > LARGE_WRITE_TRIPLES or self.store.has_staged(subgraph_id)
        if create_only or self.writer is not None or large:
            result = await self._write_call(
                lambda: self.store.put_statements(
                    subgraph_id, statements, create_only=create_only, body_digest=digest
                ),
                large=large,
            )
        else:
            result = await self.group.put(Statements(subgraph_id, statements, digest))
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

    def _check_depth(self, body: bytes) -> None:
        if json_too_deep(body, self.limits.max_json_depth):
            # Also checked in the worker; refused here, it does not cost a round trip.
            raise BadRequest(
                400,
                "body nested too deeply",
                f"arrays and objects nest more than {self.limits.max_json_depth} deep",
            )

    async def _body(self, request: web.Request) -> bytes:
        length = request.content_length
        if length is not None and length > self.max_body_bytes:
            raise _too_large(self.max_body_bytes)
        return await _read_body(request, self.limits)

    async def batch(self, request: web.Request) -> web.StreamResponse:
        """``POST /subgraph``: see :mod:`kg_exporter.service.batch`. Each document goes through
        the checks and limits of a PUT body: rendered JSON-LD is read here
        (:mod:`~kg_exporter.service.flat`), the rest in the parse workers."""
        if request.content_type.lower() != NDJSON:
            raise BadRequest(
                415,
                "unsupported content type",
                f'send {NDJSON}, one {{"id": ..., "document": ...}} per line',
            )
        # Judged in a call of its own: the documents (~3x the body's size) are let go before the
        # store write, the longest part.
        results, writes, written = await self._judge(read_batch(await self._body(request)))
        if writes:
            # A thread: a bulk load or staging (a synced file) takes long enough to be felt.
            outcomes = await asyncio.to_thread(self.store.put_many, writes)
            for index, result in zip(written, outcomes, strict=True):
                results[index].update(_BATCH_RESULTS[result])
        for answered in results:
            self.metrics.wrote(int(answered["status"]), unchanged=bool(answered.get("unchanged")))
        return web.Response(body=results_body(results), content_type="application/json")

    async def _judge(
        self, lines: list[Entry | Refused]
    ) -> tuple[list[dict[str, Any]], list[Statements], list[int]]:
        """Each line's result so far (refused, unchanged, or only its id), the writes to make,
        and the index in the results of each write."""
        results: list[dict[str, Any]] = []
        parse: list[tuple[int, Entry]] = []
        for line in lines:
            if isinstance(line, Refused):
                results.append(line.result())
            elif self.store.unchanged(line.subgraph_id, line.digest):
                results.append({"id": line.subgraph_id, "status": 204, "unchanged": True})
            else:
                # Checked with the others (see _parse): what is not rendered JSON-LD goes to
                # the workers, so that the event loop stays free for the next batch.
                parse.append((len(results), line))
                results.append({"id": line.subgraph_id})
        parsed = await self._parse([entry for _, entry in parse])
        writes: list[Statements] = []
        written: list[int] = []
        for (index, entry), outcome in zip(parse, parsed, strict=True):
            if isinstance(outcome, BadRequest):
                results[index] = Refused(entry.subgraph_id, outcome).result()
            else:
                written.append(index)
                writes.append(Statements(entry.subgraph_id, outcome, entry.digest))
        return results, writes, written

    async def _parse(self, entries: list[Entry]) -> list[bytes | BadRequest]:
        """Each entry's statements, or why it is refused: rendered JSON-LD read here
        (:func:`read_flat`), the rest by the parser, here or in the workers. A batch larger than
        one small PUT body is read in a thread: a full one takes ~0.12 s, which would otherwise
        hold up every other request (health probes, queries) on the event loop."""
        if sum(len(entry.body) for entry in entries) > IN_PROCESS_BYTES:
            outcomes = await asyncio.to_thread(read_flat, entries, self.limits, self.compactor)
        else:
            outcomes = read_flat(entries, self.limits, self.compactor)
        rest = [i for i, outcome in enumerate(outcomes) if outcome is None]
        self.metrics.read_bodies(flat=True, count=sum(type(o) is bytes for o in outcomes))
        self.metrics.read_bodies(flat=False, count=len(rest))
        if rest:
            others = [entries[i] for i in rest]
            parsed = self._parse_small(others)
            if parsed is None:
                parsed = await parse_bodies(self.parsers, others, self.limits, self.compactor)
            for index, outcome in zip(rest, parsed, strict=True):
                outcomes[index] = outcome
        return [outcome if outcome is not None else b"" for outcome in outcomes]

    def _parse_small(self, entries: list[Entry]) -> list[bytes | BadRequest] | None:
        """The JSON-LD documents of a batch no bigger in all than one small plain PUT body (a
        daemon's lone start: two documents), parsed here as that PUT's would be; None for the
        workers."""
        bodies = [entry.body for entry in entries]
        if sum(map(len, bodies)) > IN_PROCESS_BYTES or any(e.body_format for e in entries):
            return None
        try:
            if not all(in_process(body, self.limits) for body in bodies):
                return None
        except BadRequest:
            return None  # the workers say which one and why
        parsed: list[bytes | BadRequest] = []
        for body in bodies:
            try:
                parsed.append(checked_statements(body, self.limits, self.compactor)[0])
            except BadRequest as exc:
                parsed.append(exc)
        return parsed

    async def _read(self, subgraph_id: str) -> web.StreamResponse:
        if self.store.has_staged(subgraph_id):
            # Staged subgraphs are loaded first: not on the event loop.
            triples = await asyncio.to_thread(self.store.get, subgraph_id)
        else:
            triples = self.store.get(subgraph_id)
        if triples is None:
            raise _not_found(subgraph_id)
        if len(triples) > LARGE_WRITE_TRIPLES:
            document = await asyncio.to_thread(self._compact, triples)
        else:
            document = self._compact(triples)
        return _json(document, content_type="application/ld+json")

    def _compact(self, triples: list[Any]) -> dict[str, Any]:
        try:
            return self.compactor.document(triples)
        except SinkError:
            # Stored before writes were checked for this (an IRI whose scheme is one of the
            # context's terms): full IRIs under an empty context still expand to the same triples.
            return self.expanded.document(triples)

    async def list_ids(self, request: web.Request) -> web.StreamResponse:
        prefix = request.query.get("prefix", "")
        if self.store.has_staged():
            return _json(await asyncio.to_thread(self.store.ids, prefix))
        return _json(self.store.ids(prefix))

    # -- /sparql -------------------------------------------------------------------------------

    async def sparql(self, request: web.Request) -> web.StreamResponse:
        query = await _sparql_text(request, self.limits)
        if sparql_too_deep(query, self.limits.max_query_depth):
            raise BadRequest(
                400,
                "query nested too deeply",
                f"groups, parentheses and brackets nest more than {self.limits.max_query_depth} deep",
            )
        if self.snapshots is None:
            answer = await run_in_daemon_thread(lambda: self.store.query(query, self.limits))
            return web.Response(body=answer.body, content_type=answer.content_type)
        try:
            async with self.snapshots.fresh() as snapshot:
                header, body = await self.queries.call(
                    {"op": QUERY, "snapshot": snapshot},
                    query.encode("utf-8"),
                    seconds=self.limits.query_seconds,
                )
        except OSError as exc:
            raise BadRequest(503, "cannot snapshot the store", str(exc)) from exc
        if not header.get("ok"):
            raise refusal(header)
        return web.Response(body=body, content_type=str(header["content_type"]))

    # -- operations ----------------------------------------------------------------------------

    async def healthz(self, request: web.Request) -> web.StreamResponse:
        return _json({"status": "ok", "subgraphs": self.store.count()})

    async def metrics_page(self, request: web.Request) -> web.StreamResponse:
        return web.Response(
            body=generate_latest(self.metrics.registry),
            headers={"Content-Type": CONTENT_TYPE_LATEST},
        )

    async def warm(self, app: web.Application) -> None:
        # The body workers start beside the first requests rather than during them: a burst
        # of batches right after a start (a cluster restore) does not wait for them.
        self.warming = asyncio.create_task(self.parsers.warm())

    async def close(self, app: web.Application) -> None:
        # Queries and parses still running are abandoned (their requests get 503/422); the
        # store is flushed after this.
        if self.warming is not None:
            self.warming.cancel()
            await asyncio.gather(self.warming, return_exceptions=True)
        await self.parsers.close()
        await self.queries.close()
        if self.snapshots is not None:
            await self.snapshots.close()


class _Unauthorized(BadRequest):
    pass


async def _sparql_text(request: web.Request, limits: Limits) -> str:
    limit = limits.max_query_bytes
    if request.method == "GET":
        query = request.query.get("query")
    elif request.content_type == "application/sparql-query":
        query = (await _read_body(request, limits)).decode("utf-8", "replace")
    elif request.content_type == "application/x-www-form-urlencoded":
        await _read_body(request, limits)  # within the time limit; post() then parses it
        query = (await request.post()).get("query")  # type: ignore[assignment]
    else:
        raise BadRequest(
            415,
            "unsupported content type",
            "POST application/sparql-query, or a form with a 'query' field",
        )
    if not isinstance(query, str) or not query.strip():
        raise BadRequest(400, "missing query", "pass the SPARQL query as 'query'")
    if len(query.encode("utf-8", "surrogatepass")) > limit:
        raise BadRequest(413, "query too large", f"the limit is {limit} bytes")
    return query


async def _read_body(request: web.Request, limits: Limits) -> bytes:
    """The whole body, within ``limits.body_seconds`` and ``limits.max_body_bytes``."""
    try:
        async with asyncio.timeout(limits.body_seconds):
            return await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise _too_large(limits.max_body_bytes) from exc
    except TimeoutError:
        raise BadRequest(
            408, "body too slow", f"the body did not arrive within {limits.body_seconds:g} s"
        ) from None


async def run_in_daemon_thread(call: Callable[[], _T]) -> _T:
    """``call()`` in a thread of its own that does not hold up the process's exit: a query over an
    in-memory store cannot be stopped, and SIGTERM must not wait for it."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[_T] = loop.create_future()

    def run() -> None:
        try:
            result = call()
        except BaseException as exc:  # handed to the awaiting coroutine
            loop.call_soon_threadsafe(_settle, future, None, exc)
        else:
            loop.call_soon_threadsafe(_settle, future, result, None)

    threading.Thread(target=run, name="sparql", daemon=True).start()
    return await future


def _settle(future: asyncio.Future[Any], result: Any, exc: BaseException | None) -> None:
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)


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
    if exc.status in (408, 413):
        # The rest of the body is not wanted: close rather than keep reading it for keep-alive.
        response.force_close()
    if isinstance(exc, _Unauthorized):
        response.headers["WWW-Authenticate"] = 'Bearer realm="kg-exporter"'
    if headers and "Allow" in headers:
        response.headers["Allow"] = headers["Allow"]
    return response
