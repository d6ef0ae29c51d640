"""A tiny real HTTP server that answers from a script and records what it was sent."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass(frozen=True)
class Reply:
    status: int
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    delay: float = 0.0


@dataclass(frozen=True)
class Seen:
    method: str
    raw_path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Scripted:
    url: str
    seen: list[Seen]


@contextlib.asynccontextmanager
async def scripted_server(
    replies: Sequence[Reply], *, ssl_context: ssl.SSLContext | None = None
) -> AsyncIterator[Scripted]:
    """Answers the n-th request with ``replies[n]`` (the last one once the script runs out)."""
    seen: list[Seen] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append(
            Seen(request.method, request.raw_path, dict(request.headers), await request.read())
        )
        reply = replies[min(len(seen), len(replies)) - 1]
        if reply.delay:
            await asyncio.sleep(reply.delay)
        return web.Response(
            status=reply.status,
            text=reply.body if reply.status != 204 else None,
            headers=reply.headers,
            content_type=reply.content_type if reply.status != 204 else None,
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server(ssl=ssl_context)
    scheme = "https" if ssl_context is not None else "http"
    try:
        yield Scripted(f"{scheme}://127.0.0.1:{server.port}", seen)
    finally:
        await server.close()
