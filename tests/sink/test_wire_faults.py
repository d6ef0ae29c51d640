"""The sink's own wire (aiohttp directly) against a server that breaks HTTP: every failure before
an answer is an httpx transport error, so it is retried as before, on a fresh connection; a
redirect is not followed. A raw loopback server answers each connection from a script."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from kg_exporter.errors import SinkRejected
from kg_exporter.sink import PutOutcome
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


@contextlib.asynccontextmanager
async def raw_server(script: list[bytes]) -> AsyncIterator[tuple[str, list[bytes]]]:
    heads: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            heads.append(await reader.readuntil(b"\r\n\r\n"))
            writer.write(script[min(len(heads), len(script)) - 1])
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", heads
    finally:
        server.close()
        await server.wait_closed()


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
