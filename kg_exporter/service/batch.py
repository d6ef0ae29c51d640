"""``POST /subgraph``: many subgraphs in one request, each judged on its own.

The body is JSON Lines (``application/x-ndjson``), one subgraph per line::

    {"id": "cluster1:workload:deployment:shop:web", "document": {"@context": ..., "@graph": [...]}}

or with the subgraph's statements as N-Triples instead of a JSON-LD document (what backfill
sends: pyoxigraph parses them for a fraction of what JSON-LD costs)::

    {"id": "cluster1:workload:deployment:shop:web", "ntriples": "<https://...> <https://...> ... .\n..."}

and the answer (``200``) is one result per line, in order, each what a ``PUT /subgraph/{id}`` of
that document would have answered::

    {"results": [{"id": "...", "status": 201}, {"id": "...", "status": 204, "unchanged": true},
                 {"id": "...", "status": 400, "error": "no triples", "detail": "..."}]}

A line that is not such an object, an id that breaks the id rules or repeats an earlier line's,
and a document the PUT would refuse, get that refusal as their result; the other lines are
written. Only what makes the whole request unreadable is refused whole (415, 413, or 400 when
there are more than :data:`MAX_SUBGRAPHS` lines or none).

Each document is checked exactly as a PUT body is, because it is turned back into one: the
compact JSON of the document, which is also what its digest (:meth:`SubgraphStore.unchanged`) is
taken of. N-Triples get the checks that apply to them, and what JSON-LD could not say is refused
(:func:`~kg_exporter.service.validation.checked_ntriples`); plain ones (no triple term, no base
direction: what kg-exporter sends) are checked by the service itself, in a thread
(:func:`~kg_exporter.service.validation.plain_ntriples`), the others and every JSON-LD document
in the parse workers under the limits (:mod:`kg_exporter.service.limits`),
:data:`PARSE_CHUNK` documents per worker request; a document that makes its worker fail (too
slow, too big) is found by parsing that request's documents again one by one, and only it is
refused.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from kg_exporter.service.flat import flat_statements
from kg_exporter.service.limits import Limits
from kg_exporter.service.validation import (
    BATCH_TOO_LARGE,
    N_TRIPLES,
    BadRequest,
    batch_too_large,
    check_subgraph_id,
    plain_ntriples,
)
from kg_exporter.service.worker import PARSE, PARSE_MANY, join_bodies
from kg_exporter.service.workers import WorkerFailed, WorkerPool
from kg_exporter.sink.jsonld import Compactor

#: Content type of a batch request.
NDJSON = "application/x-ndjson"
#: Documents per request to a parse worker: each request costs a round trip, and the documents of
#: one whose worker fails (a time or memory limit) are parsed again one by one.
PARSE_CHUNK = 32
#: Most subgraphs in one request: a client batching more gains nothing (the store's bulk loader
#: is at its best from ~100 subgraphs) and holds more memory per request.
MAX_SUBGRAPHS = 1_000


@dataclass(frozen=True)
class Entry:
    """One readable line: the id, and the document as a PUT body with its digest; with
    ``body_format`` :data:`~kg_exporter.service.validation.N_TRIPLES`, N-Triples instead.
    ``document``: the JSON-LD document ``body`` is the compact JSON of (none for N-Triples)."""

    subgraph_id: str
    body: bytes
    digest: bytes
    body_format: str | None = None
    document: dict[str, Any] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Refused:
    """One line refused: its id when it has a readable one, and why."""

    subgraph_id: str | None
    reason: BadRequest

    def result(self) -> dict[str, Any]:
        return {"id": self.subgraph_id, "status": self.reason.status, **self.reason.body()}


def read_batch(body: bytes) -> list[Entry | Refused]:
    """Each line of ``body`` as an :class:`Entry`, or as :class:`Refused`;
    :class:`BadRequest` when there is no line or more than :data:`MAX_SUBGRAPHS`."""
    lines = [line for line in body.split(b"\n") if line.strip()]
    if not lines:
        raise BadRequest(400, "empty batch", "send one JSON object per line")
    if len(lines) > MAX_SUBGRAPHS:
        raise BadRequest(
            400,
            "batch too large",
            f"at most {MAX_SUBGRAPHS} subgraphs per request, not {len(lines)}",
        )
    seen: set[str] = set()
    entries: list[Entry | Refused] = []
    for line in lines:
        entry = _entry(line)
        if isinstance(entry, Entry):
            if entry.subgraph_id in seen:
                reason = BadRequest(400, "repeated id", "each id at most once per batch")
                entry = Refused(entry.subgraph_id, reason)
            seen.add(entry.subgraph_id or "")
        entries.append(entry)
    return entries


def _entry(line: bytes) -> Entry | Refused:
    try:
        item = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return Refused(None, BadRequest(400, "line is not JSON", str(exc)))
    if not isinstance(item, dict) or not isinstance(item.get("id"), str):
        reason = BadRequest(400, "line is not a subgraph", 'send {"id": "...", "document": {...}}')
        return Refused(None, reason)
    subgraph_id = item["id"]
    try:
        check_subgraph_id(subgraph_id)
    except BadRequest as exc:
        return Refused(subgraph_id, exc)
    statements = item.get("ntriples")
    if statements is not None and "document" in item:
        reason = BadRequest(400, "line is not a subgraph", "send a document or ntriples, not both")
        return Refused(subgraph_id, reason)
    if statements is not None:
        if not isinstance(statements, str):
            reason = BadRequest(400, "body is not N-Triples", "ntriples must be a JSON string")
            return Refused(subgraph_id, reason)
        body = statements.encode("utf-8", "surrogatepass")
        # Apart from any JSON-LD body: the same bytes would not be the same subgraph.
        return Entry(subgraph_id, body, digest(b"n-triples\n" + body), N_TRIPLES)
    document = item.get("document")
    if not isinstance(document, dict):
        kind = type(document).__name__ if document is not None else "nothing"
        reason = BadRequest(400, "body is not a JSON object", f"the document is a JSON {kind}")
        return Refused(subgraph_id, reason)
    body = orjson.dumps(document)
    return Entry(subgraph_id, body, digest(body), document=document)


def digest(body: bytes) -> bytes:
    """What identifies a body for :meth:`SubgraphStore.unchanged` (PUT and batch alike)."""
    # SHA-256 (OpenSSL's, in native code) costs half of this Python's blake2b on ~13 KB bodies.
    return hashlib.sha256(body).digest()[:16]


def results_body(results: list[dict[str, Any]]) -> bytes:
    return orjson.dumps({"results": results})


def read_flat(
    entries: list[Entry], limits: Limits, readable: Compactor | None
) -> list[bytes | BadRequest | None]:
    """Each JSON-LD document's statements as the service reads those of kg-exporter's flat
    profile itself (:mod:`~kg_exporter.service.flat`), or its refusal by the checks before any
    parser; None for what goes to :func:`parse_bodies` (the parser's path)."""
    outcomes: list[bytes | BadRequest | None] = []
    for entry in entries:
        if entry.document is None:
            outcomes.append(None)
            continue
        try:
            flat = flat_statements(entry.body, limits, readable, entry.document)
        except BadRequest as exc:
            outcomes.append(exc)
            continue
        outcomes.append(flat[0] if flat is not None else None)
    return outcomes


async def parse_bodies(
    pool: WorkerPool, entries: list[Entry], limits: Limits, readable: Compactor | None = None
) -> list[bytes | BadRequest]:
    """Each entry's statements (N-Triples) as a PUT body's are parsed, or why it is refused.

    Plain N-Triples (:func:`~kg_exporter.service.validation.plain_ntriples`: what kg-exporter
    sends) are checked here, in a thread; the rest, JSON-LD documents included, in the workers.
    Batches of 100 rendered subgraphs as N-Triples, 2 requests in flight, cost the service
    484-496 us of CPU per subgraph this way against 650-716 us through the workers (measured
    side by side, in-memory store): no round trip, and half the checks' cost."""
    plain = [i for i, entry in enumerate(entries) if entry.body_format == N_TRIPLES]
    outcomes: list[bytes | BadRequest | None] = [None] * len(entries)
    if plain:
        checked = await asyncio.to_thread(
            _plain, [entries[i].body for i in plain], limits, readable
        )
        for index, outcome in zip(plain, checked, strict=True):
            outcomes[index] = outcome
    rest = [i for i, outcome in enumerate(outcomes) if outcome is None]
    if rest:
        parsed = await _in_workers(pool, [entries[i] for i in rest], limits)
        for index, outcome in zip(rest, parsed, strict=True):
            outcomes[index] = outcome
    return [outcome if outcome is not None else b"" for outcome in outcomes]


def _plain(
    bodies: list[bytes], limits: Limits, readable: Compactor | None
) -> list[bytes | BadRequest | None]:
    checked: list[bytes | BadRequest | None] = []
    for body in bodies:
        try:
            plain = plain_ntriples(body, limits, readable)
        except BadRequest as exc:
            checked.append(exc)
            continue
        checked.append(plain[0] if plain is not None else None)
    return checked


async def _in_workers(
    pool: WorkerPool, entries: list[Entry], limits: Limits
) -> list[bytes | BadRequest]:
    chunks: list[tuple[str | None, list[int]]] = []
    for body_format in {entry.body_format for entry in entries}:
        indexes = [i for i, entry in enumerate(entries) if entry.body_format == body_format]
        chunks += [
            (body_format, indexes[start : start + PARSE_CHUNK])
            for start in range(0, len(indexes), PARSE_CHUNK)
        ]
    budget = _Budget(limits)
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [
                group.create_task(
                    _parse_chunk(pool, [entries[i].body for i in chunk], body_format, budget)
                )
                for body_format, chunk in chunks
            ]
    except* BadRequest as refused:
        # Past the budget: the other chunks are cancelled, and the batch refused whole.
        raise refused.exceptions[0] from None
    parsed = [task.result() for task in tasks]
    outcomes: list[bytes | BadRequest] = [b""] * len(entries)
    for (_, chunk), results in zip(chunks, parsed, strict=True):
        for index, outcome in zip(chunk, results, strict=True):
            outcomes[index] = outcome
    return outcomes


class _Budget:
    """The bytes of statements one batch's workers may hand back in all: small bodies can
    expand without bound (a 3.6 MiB batch of 150 documents, each a 2 KB prefix used 3,000 times,
    came back as 900 MB and took the service to 1.1 GB, measured), so past
    ``limits.max_statement_bytes`` the batch is refused whole (413), and nothing was written."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.left = limits.max_statement_bytes

    def take(self, size: int) -> None:
        self.left -= size
        if self.left < 0:
            raise batch_too_large(self.limits)


async def _parse_chunk(
    pool: WorkerPool, chunk: list[bytes], body_format: str | None, budget: _Budget
) -> list[bytes | BadRequest]:
    limits = budget.limits
    try:
        answer, payload = await pool.call(
            {"op": PARSE_MANY, "format": body_format},
            join_bodies(chunk),
            seconds=limits.parse_seconds,
        )
    except WorkerFailed:
        answer, payload = {}, b""
    if answer.get("error") == BATCH_TOO_LARGE:
        raise batch_too_large(limits)
    budget.take(len(payload))
    results = answer.get("results")
    if not answer.get("ok") or not isinstance(results, list) or len(results) != len(chunk):
        # One of them stopped the worker: each on its own, so that only it is refused.
        alone = list(
            await asyncio.gather(*(_parse_one(pool, body, body_format, limits) for body in chunk))
        )
        budget.take(sum(len(o) for o in alone if isinstance(o, bytes)))
        return alone
    outcomes: list[bytes | BadRequest] = []
    offset = 0
    for result in results:
        if result.get("ok"):
            size = int(result["size"])
            outcomes.append(payload[offset : offset + size])
            offset += size
        else:
            outcomes.append(refusal(result))
    return outcomes


async def _parse_one(
    pool: WorkerPool, body: bytes, body_format: str | None, limits: Limits
) -> bytes | BadRequest:
    try:
        answer, statements = await pool.call(
            {"op": PARSE, "format": body_format}, body, seconds=limits.parse_seconds
        )
    except WorkerFailed as exc:
        return exc
    return statements if answer.get("ok") else refusal(answer)


def refusal(answer: Mapping[str, Any]) -> BadRequest:
    """A worker's refusal of a body as the error to answer."""
    return BadRequest(int(answer["status"]), str(answer["error"]), answer.get("detail"))
