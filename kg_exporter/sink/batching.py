"""Coalescing concurrent PUTs into batch requests: ``POST /subgraph`` (the reference service's)
or one SPARQL 1.1 Update replacing many graphs (the Graph Store sink's, see
:meth:`~kg_exporter.sink.graph_store.GraphStoreSink.put_many`).

Why: a burst of writes (the daemon after a cluster restore, many keys queued at once) costs the
client ~0.2-0.3 ms of CPU per request (measured: 0.21 ms per PUT to the reference service, 0.31
ms per Graph Store PUT to ``oxigraph serve``) and the server its HTTP handling per request; one
request per batch costs a fraction of that per subgraph, and lets the server write the
subgraphs of a batch together (see docs/metadata-service.md, *Batches*).

How: :meth:`BatchingSink.put` queues its subgraph and waits. A sender task takes what is queued
— up to ``max_batch`` subgraphs — and sends it as soon as a request slot is free, after letting
the puts of the same event-loop turn join; while every slot is busy, more puts queue up, so
batches grow with the load and a lone put waits for nothing. Each put gets its own outcome or
error, as if it had been sent alone; the retries of the whole request are the sink client's. A
subgraph refused in its batch (its own result a 4xx or 5xx) raises for its put alone, without a
retry here: the caller retries it (the daemon's per-key backoff) while the rest are written.
A batch request refused as a whole (any other 4xx: a SPARQL Update is all or nothing, so one
subgraph the store will not take refuses the request) is sent again as one PUT per subgraph, so
only the bad subgraph is refused, with its own error.

Puts of one id are sent in the order they were made and never two at once: an id stays out of
every batch while a request holding it is under way (the reference service applies writes to one
id one at a time, but two requests in flight could reach it in either order).

A sink that does not offer batches (it answers the batch request with 404, 405 or 415) is
remembered as such and every put is then sent on its own.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from kg_exporter.errors import SinkError, SinkRejected
from kg_exporter.sink.base import PutOutcome, Sink

log = logging.getLogger("kg_exporter.sink")

#: Most subgraphs per batch request: the reference service's limit (its MAX_SUBGRAPHS).
MAX_BATCH = 1000
#: Answers to the batch POST of a service that has no batch endpoint.
NO_BATCHES = frozenset({404, 405, 415})


class BatchWrites(Sink, Protocol):
    """A sink that can also write many subgraphs in one request."""

    #: The batch request, as log lines name it ("POST /subgraph").
    batch_request: str

    async def put_many(
        self, items: Sequence[tuple[str, Mapping[str, Any]]]
    ) -> builtins.list[PutOutcome | SinkError]:
        """PUT each ``(id, document)`` (ids distinct); the outcome or error of each, in order.
        Raises for the request as a whole: ``SinkRejected`` (404, 405 or 415: no batches
        here), ``SinkUnavailable``."""
        ...


@dataclass
class _Waiting:
    subgraph_id: str
    document: Mapping[str, Any]
    future: asyncio.Future[PutOutcome] = field(repr=False)


class BatchingSink:
    """A :class:`BatchWrites` sink whose concurrent puts go out together."""

    def __init__(self, inner: BatchWrites, *, max_batch: int = 256, requests: int = 2) -> None:
        """``max_batch`` subgraphs per request at most, ``requests`` batch requests in flight."""
        if max_batch < 1 or requests < 1:
            raise ValueError("max_batch and requests must be at least 1")
        self._inner = inner
        self._max_batch = max_batch
        self._slots = asyncio.Semaphore(requests)
        self._waiting: builtins.list[_Waiting] = []
        self._sender: asyncio.Task[None] | None = None
        self._requests: set[asyncio.Task[None]] = set()
        #: Ids of the batch requests under way (see the module docstring: order per id).
        self._in_flight: set[str] = set()
        self._batches = True

    async def put(self, subgraph_id: str, document: Mapping[str, Any]) -> PutOutcome:
        if not self._batches:
            return await self._inner.put(subgraph_id, document)
        future: asyncio.Future[PutOutcome] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(subgraph_id, document, future))
        self._wake_sender()
        return await future

    async def put_many(
        self, items: Sequence[tuple[str, Mapping[str, Any]]]
    ) -> builtins.list[PutOutcome | SinkError]:
        """Each ``(id, document)`` PUT (ids distinct), in requests of ``max_batch`` at most; the
        outcome or the error of each, in order (see :meth:`BatchWrites.put_many`); a request
        refused as a whole goes again as one PUT per subgraph."""
        outcomes: builtins.list[PutOutcome | SinkError] = []
        for start in range(0, len(items), self._max_batch):
            chunk = items[start : start + self._max_batch]
            if self._batches:
                try:
                    outcomes += await self._inner.put_many(chunk)
                    continue
                except SinkRejected as exc:
                    if exc.status in NO_BATCHES:
                        self._no_batches(exc)
                    else:
                        log.info(
                            "a batch of %d subgraphs was refused as a whole (%s: %s); sending "
                            "each on its own",
                            len(chunk),
                            self._inner.batch_request,
                            exc,
                        )
            outcomes += await self._one_by_one(chunk)
        return outcomes

    async def get(self, subgraph_id: str) -> dict[str, Any] | None:
        return await self._inner.get(subgraph_id)

    async def delete(self, subgraph_id: str) -> bool:
        return await self._inner.delete(subgraph_id)

    async def list(self, prefix: str = "") -> builtins.list[str]:
        return await self._inner.list(prefix)

    async def aclose(self) -> None:
        # A request ending can start the sender again (puts it held back): until both are idle.
        while (self._sender is not None and not self._sender.done()) or self._requests:
            if self._sender is not None:
                await self._sender
            await asyncio.gather(*self._requests, return_exceptions=True)
        await self._inner.aclose()

    # -- internals ---------------------------------------------------------------------------

    def _wake_sender(self) -> None:
        if self._waiting and (self._sender is None or self._sender.done()):
            self._sender = asyncio.create_task(self._send_waiting())

    async def _send_waiting(self) -> None:
        while self._waiting:
            await self._slots.acquire()
            await asyncio.sleep(0)  # the puts of this event-loop turn join the batch
            batch = self._take()
            if not batch:
                self._slots.release()
                break
            request = asyncio.create_task(self._send(batch))
            self._requests.add(request)
            request.add_done_callback(self._requests.discard)

    def _take(self) -> builtins.list[_Waiting]:
        batch: builtins.list[_Waiting] = []
        seen: set[str] = set()
        rest: builtins.list[_Waiting] = []
        for waiting in self._waiting:
            # One id once per request: a later put of the same id waits for the next batch.
            # Nor an id that a request under way holds: it waits for that answer.
            if (
                len(batch) < self._max_batch
                and waiting.subgraph_id not in seen
                and waiting.subgraph_id not in self._in_flight
            ):
                seen.add(waiting.subgraph_id)
                batch.append(waiting)
            else:
                rest.append(waiting)
        self._waiting = rest
        self._in_flight |= seen
        return batch

    async def _send(self, batch: builtins.list[_Waiting]) -> None:
        try:
            items = [(waiting.subgraph_id, waiting.document) for waiting in batch]
            try:
                outcomes = await self.put_many(items)
            except BaseException as exc:  # every put of the batch gets the request's error
                for waiting in batch:
                    if not waiting.future.done():
                        waiting.future.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
                return
            for waiting, outcome in zip(batch, outcomes, strict=True):
                if waiting.future.done():
                    continue  # its put was cancelled
                if isinstance(outcome, SinkError):
                    waiting.future.set_exception(outcome)
                else:
                    waiting.future.set_result(outcome)
        finally:
            self._in_flight.difference_update(waiting.subgraph_id for waiting in batch)
            self._slots.release()
            self._wake_sender()  # puts held back for an id of this batch can go now

    async def _one_by_one(
        self, items: Sequence[tuple[str, Mapping[str, Any]]]
    ) -> builtins.list[PutOutcome | SinkError]:
        async def one(subgraph_id: str, document: Mapping[str, Any]) -> PutOutcome | SinkError:
            try:
                return await self._inner.put(subgraph_id, document)
            except SinkError as exc:
                return exc

        return builtins.list(await asyncio.gather(*(one(i, d) for i, d in items)))

    def _no_batches(self, refusal: SinkRejected) -> None:
        if self._batches:
            log.info(
                "the sink offers no batch writes (%s: %s); sending each subgraph on its own",
                self._inner.batch_request,
                refusal,
            )
        self._batches = False
