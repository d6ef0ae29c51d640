"""aiohttp's client under the sinks: :class:`AiohttpWire`, which the sink client sends through,
and :class:`AiohttpTransport`, the same as an httpx transport (for ``make_http_client``).

Why aiohttp: on a 2-core machine httpx's own connection pool (httpcore) spends ~1 ms of CPU per
request scanning its connections once several requests are in flight, and tops out near 500
requests/s however many connections it has; aiohttp's client does the same work in a fraction of
that. Why the wire skips httpx altogether: httpx's request and response objects (URL parsing,
header normalisation, cookie extraction) cost as much CPU per PUT again as aiohttp's own request
(see docs/metadata-service.md, *The client's CPU per PUT*). aiohttp errors are mapped onto httpx's
exception tree either way, so callers see only httpx exceptions.

The aiohttp session belongs to the event loop it was created on; it is made on first use (a client
may be built before the loop runs) and made anew if a later request comes from another loop.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from collections.abc import Iterable, Mapping

import aiohttp
import httpx
from yarl import URL

from kg_exporter.sink.wire import Answer

# aiohttp frames the request itself; forwarding these would contradict what it sends.
_REQUEST_HEADERS_SKIPPED = frozenset({"host", "content-length", "transfer-encoding", "connection"})
# aiohttp has already decoded the body, so these no longer describe it.
_RESPONSE_HEADERS_SKIPPED = frozenset({"content-encoding", "content-length", "transfer-encoding"})
#: What every request of the wire carries (httpx's defaults, but only the encodings aiohttp
#: decodes for certain: httpx offers br/zstd when their libraries happen to be installed).
DEFAULT_HEADERS: Mapping[str, str] = {
    "Accept": "*/*",
    "Accept-Encoding": "gzip, deflate",
    "User-Agent": "kg-exporter",
}

Headers = Mapping[str, str] | Iterable[tuple[str, str]]


@functools.lru_cache(maxsize=16)
def client_timeout(connect: float | None, read: float | None) -> aiohttp.ClientTimeout:
    """aiohttp's limits for httpx's ``connect`` and ``read`` timeouts.

    No limit on the wait for one of this client's own connections (httpx's "pool" timeout,
    aiohttp's "connect"): a request waiting there has not reached the server; it queues behind
    this process's other requests, each bounded by its own connect and read limits. Counted, a
    burst of more requests than connections failed on a busy but healthy server without ever
    being sent: of 1,000 concurrent PUTs to a loaded reference service, 370 ended in
    ConnectTimeout at 10 s while the first 630 were answered. (A host name's lookup fell under
    that limit too; it is bounded by the system resolver's own timeouts.)
    """
    return aiohttp.ClientTimeout(total=None, connect=None, sock_connect=connect, sock_read=read)


class AiohttpWire:
    """Sends requests with one pooled aiohttp session (see the module docstring)."""

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None = None,
        max_connections: int = 64,
        keepalive_seconds: float = 15.0,
    ) -> None:
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self._max_connections = max_connections
        self._keepalive = keepalive_seconds
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def send(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None,
        headers: Mapping[str, str],
        timeout_seconds: float,
    ) -> Answer:
        return await self.exchange(
            method,
            url,
            content=content,
            headers=headers,
            limits=client_timeout(timeout_seconds, timeout_seconds),
        )

    async def exchange(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None,
        headers: Headers,
        limits: aiohttp.ClientTimeout,
    ) -> Answer:
        """One request, its answer read whole; ``headers`` are sent as given, after
        :data:`DEFAULT_HEADERS` (the session's)."""
        session = self._session_for_this_loop()
        try:
            async with session.request(
                method,
                # encoded=True: send the URL exactly as given; yarl would otherwise decode escapes
                # such as %2E and change which resource is named.
                URL(url, encoded=True),
                data=content or None,
                headers=headers,
                allow_redirects=False,
                timeout=limits,
            ) as response:
                body = await response.read()
        except aiohttp.ConnectionTimeoutError as exc:
            raise httpx.ConnectTimeout(str(exc) or "connect timed out") from exc
        except aiohttp.ClientConnectorError as exc:
            raise httpx.ConnectError(str(exc)) from exc
        except (aiohttp.SocketTimeoutError, TimeoutError) as exc:
            raise httpx.ReadTimeout(str(exc) or "read timed out") from exc
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError) as exc:
            raise httpx.RemoteProtocolError(str(exc)) from exc
        except aiohttp.ClientError as exc:
            raise httpx.NetworkError(str(exc) or type(exc).__name__) from exc
        return Answer(response.status, response.headers, body, url, response.reason or "")

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None and self._loop is asyncio.get_running_loop():
            await session.close()

    def _session_for_this_loop(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._loop is not loop or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections,
                ssl=self._ssl,
                keepalive_timeout=self._keepalive,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers=DEFAULT_HEADERS,
                # The caller names the Content-Type; aiohttp would add its own guess.
                skip_auto_headers=("Content-Type",),
                auto_decompress=True,
            )
            self._loop = loop
        return self._session


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An :class:`AiohttpWire` as an httpx transport: httpx builds the request (its default
    headers replace the wire's), aiohttp sends it."""

    def __init__(self, wire: AiohttpWire) -> None:
        self._wire = wire

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        headers = [
            (name, value)
            for name, value in request.headers.multi_items()
            if name.lower() not in _REQUEST_HEADERS_SKIPPED
        ]
        if "accept-encoding" in request.headers:
            # httpx offers br/zstd when their libraries are installed; aiohttp may lack them.
            headers = [(n, v) for n, v in headers if n.lower() != "accept-encoding"]
            headers.append(("Accept-Encoding", DEFAULT_HEADERS["Accept-Encoding"]))
        body = await request.aread()
        try:
            answer = await self._wire.exchange(
                request.method,
                str(request.url),
                content=body,
                headers=headers,
                limits=client_timeout(timeouts.get("connect"), timeouts.get("read")),
            )
        except httpx.TransportError as exc:
            exc.request = request
            raise
        return httpx.Response(
            answer.status_code,
            headers=[
                (name, value)
                for name, value in answer.headers.items()
                if name.lower() not in _RESPONSE_HEADERS_SKIPPED
            ],
            content=answer.content,
            request=request,
        )

    async def aclose(self) -> None:
        await self._wire.aclose()
