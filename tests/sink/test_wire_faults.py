"""The sink's own wire (aiohttp directly) against a server that breaks HTTP: every failure before
an answer is an httpx transport error, so it is retried as before, on a fresh connection; a
redirect is not followed. A raw loopback server answers each connection from a script."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from kg_exporter.errors import SinkRejected
from kg_exporter.sink import PutOutcome
from kg_exporter.sink.transport import AiohttpWire
from tests.sink.documents import workload_document
from tests.sink.test_client import ID, Sleeps, make_sink

CREATED = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
#: What the server does on each connection, in turn: bytes to write (after reading the request's
#: head), then close.
BROKEN = [
    b"",  # closed before any answer
    b"HTTP/1.1 2OO Okay\r\n\r\n",  # not a status line
    b"HTTP/1.1 201 Created\r\nContent-Length: 100\r\n\r\nshort",  # cut off
    b"HTTP/1.1 201 Created\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nnope",
]


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def loopback(handler: Handler) -> AsyncIterator[str]:
    """A raw TCP server on 127.0.0.1 running ``handler`` for each connection; its URL."""
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


@contextlib.asynccontextmanager
async def raw_server(script: list[bytes]) -> AsyncIterator[tuple[str, list[bytes]]]:
    heads: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            heads.append(await reader.readuntil(b"\r\n\r\n"))
            writer.write(script[min(len(heads), len(script)) - 1])
            await writer.drain()
        writer.close()

    async with loopback(answer) as url:
        yield url, heads


async def test_broken_answers_are_retried_each_on_a_new_connection() -> None:
    sleeps = Sleeps()
    async with raw_server([*BROKEN, CREATED]) as (url, heads):
        sink = make_sink("subgraph", url, sleeps, max_attempts=len(BROKEN) + 1)
        try:
            assert await sink.put(ID, workload_document()) == PutOutcome.CREATED
        finally:
            await sink.aclose()
    # One connection per attempt (the server closes each): each request was sent whole. aiohttp
    # sends a PUT (idempotent, never a PATCH) once more by itself when the server closed without
    # answering; every other failure is one of the sink client's retries.
    assert len(heads) == len(BROKEN) + 1
    assert len(BROKEN) - 1 <= len(sleeps.delays) <= len(BROKEN)
    assert all(head.startswith(b"PUT /subgraph/") for head in heads)


@pytest.mark.parametrize("status", [301, 307, 308])
async def test_a_redirect_is_not_followed(status: int) -> None:
    moved = b"HTTP/1.1 %d Moved\r\nLocation: http://127.0.0.1:1/elsewhere\r\n" % status
    async with raw_server([moved + b"Content-Length: 0\r\n\r\n"]) as (url, heads):
        sink = make_sink("subgraph", url, Sleeps())
        try:
            with pytest.raises(SinkRejected) as refused:
                await sink.put(ID, workload_document())
        finally:
            await sink.aclose()
    assert refused.value.status == status and len(heads) == 1


@contextlib.asynccontextmanager
async def server_that_stops_reading(answer_from: int) -> AsyncIterator[tuple[str, list[int]]]:
    """Reads each request's head; the first ``answer_from - 1`` connections then never read
    again (the body piles up in the socket buffers), later ones read the body and answer 201."""
    connections: list[int] = []
    held: list[asyncio.StreamWriter] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(len(connections) + 1)
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            head = await reader.readuntil(b"\r\n\r\n")
            if len(connections) < answer_from:
                held.append(writer)  # never read from, never closed until the test ends
                return
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
            writer.write(CREATED)
            await writer.drain()
        writer.close()

    async with loopback(serve) as url:
        try:
            yield url, connections
        finally:
            for writer in held:
                writer.close()


async def test_a_peer_that_stops_reading_a_large_body_is_a_timeout_then_retried() -> None:
    # aiohttp starts its read timeout only after the body is written; without a write limit this
    # PUT waited as long as TCP kept the connection (tried: still waiting after 30 s at 2 s).
    document = {**workload_document(), "padding": "x" * (32 << 20)}  # past any socket buffer
    sleeps = Sleeps()
    async with server_that_stops_reading(answer_from=3) as (url, connections):
        sink = make_sink("subgraph", url, sleeps, timeout_seconds=1.0)
        try:
            outcome = await asyncio.wait_for(sink.put(ID, document), timeout=60)
        finally:
            await sink.aclose()
    assert outcome == PutOutcome.CREATED
    # Two stalled connections (aiohttp sends a PUT once more by itself when the first fails),
    # then the sink's retry after one backoff, on a new connection.
    assert len(connections) == 3
    assert len(sleeps.delays) == 1


def _chunked_without_end() -> bytes:
    piece = b"x" * 65_536
    return (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        + (b"%x\r\n%s\r\n" % (len(piece), piece)) * 64
    )  # 4 MiB, and never the last chunk


def _gzip_bomb() -> bytes:
    body = gzip.compress(b"\0" * (4 << 20))  # 4 MiB of zeros in ~4 KiB
    return b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s" % (
        len(body),
        body,
    )


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 10000000000\r\n\r\n" + b"x" * 1024,
        _chunked_without_end(),
        _gzip_bomb(),
    ],
    ids=["declared 10 GB", "chunked without end", "gzip bomb"],
)
async def test_an_answer_past_the_limit_is_a_transport_error_not_a_memory_blowup(
    answer: bytes,
) -> None:
    wire = AiohttpWire(max_answer_bytes=1 << 20)
    async with raw_server([answer]) as (url, _):
        try:
            with pytest.raises(httpx.RemoteProtocolError, match="larger than 1 MiB"):
                await wire.send(
                    "GET", f"{url}/subgraph", content=None, headers={}, timeout_seconds=5
                )
        finally:
            await wire.aclose()
