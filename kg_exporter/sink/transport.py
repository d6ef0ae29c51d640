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
from aiohttp.abc import AbstractStreamWriter
from aiohttp.payload import BytesPayload
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

#: Bodies up to this size are handed to the socket whole: aiohttp only waits for the peer to read
#: past its 64 KiB buffer, so a smaller body is written at once, and the read timeout covers the
#: wait for the answer.
_PACED_ABOVE = 64 * 1024
_PIECE = 256 * 1024


class _PacedBody(BytesPayload):
    """A request body written in pieces, each within ``seconds`` (httpx's write timeout).

    aiohttp starts its read timeout only once the body is written, and has no limit on writing:
    a peer that accepts the connection but stops reading held a 64 MiB PUT for as long as TCP
    kept the connection up (measured: still waiting after 30 s with a 2 s timeout). Now such a
    request fails, and the sink retries it like any other transport error."""

    def __init__(self, value: bytes, seconds: float) -> None:
        super().__init__(value)
        self._seconds = seconds

    async def write(self, writer: AbstractStreamWriter) -> None:
        await self.write_with_length(writer, None)

    async def write_with_length(
        self, writer: AbstractStreamWriter, content_length: int | None
    ) -> None:
        body = memoryview(self._value)[:content_length]
        for start in range(0, len(body), _PIECE):
            try:
                async with asyncio.timeout(self._seconds):
                    await writer.write(body[start : start + _PIECE])
            except TimeoutError as exc:
                raise _WriteStalled(f"the peer read nothing for {self._seconds:g} s") from exc


class _WriteStalled(aiohttp.ClientOSError):
    """The body could not be written within the write timeout."""


#: The largest answer read (after decompression). The largest a Metadata Service sends in normal
#: work is a subgraph or an id list of a few MB; without a limit, a server (or something posing
#: as one) answering without end, or a small gzip bomb, would take the daemon past its memory
#: limit (256 MiB in deploy/) instead of failing one request.
MAX_ANSWER_BYTES = 64 * 1024 * 1024


async def _read_capped(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The whole answer, or :class:`httpx.RemoteProtocolError` past ``limit`` bytes."""
    length = response.content_length
    if length is not None and length > limit:
        raise _too_large(limit)
    if length is not None and "Content-Encoding" not in response.headers:
        return await response.read()  # framed by its length: cannot grow past it
    pieces: list[bytes] = []
    size = 0
    async for piece in response.content.iter_any():
        size += len(piece)
        if size > limit:
            raise _too_large(limit)
        pieces.append(piece)
    return b"".join(pieces)


def _too_large(limit: int) -> httpx.RemoteProtocolError:
    return httpx.RemoteProtocolError(f"the answer is larger than {limit // (1024 * 1024)} MiB")


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
        max_answer_bytes: int = MAX_ANSWER_BYTES,
    ) -> None:
        self._max_answer_bytes = max_answer_bytes
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
            write_seconds=timeout_seconds,
        )

    async def exchange(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None,
        headers: Headers,
        limits: aiohttp.ClientTimeout,
        write_seconds: float | None = None,
    ) -> Answer:
        """One request, its answer read whole; ``headers`` are sent as given, after
        :data:`DEFAULT_HEADERS` (the session's). ``write_seconds`` bounds each piece of a large
        body (see :class:`_PacedBody`)."""
        session = self._session_for_this_loop()
        data: bytes | _PacedBody | None = content or None
        if content and write_seconds is not None and len(content) > _PACED_ABOVE:
            data = _PacedBody(content, write_seconds)
        try:
            async with session.request(
                method,
                # encoded=True: send the URL exactly as given; yarl would otherwise decode escapes
                # such as %2E and change which resource is named.
                URL(url, encoded=True),
                data=data,
                headers=headers,
                allow_redirects=False,
                timeout=limits,
            ) as response:
                body = await _read_capped(response, self._max_answer_bytes)
        except aiohttp.ConnectionTimeoutError as exc:
            raise httpx.ConnectTimeout(str(exc) or "connect timed out") from exc
        except aiohttp.ClientConnectorError as exc:
            raise httpx.ConnectError(str(exc)) from exc
        except aiohttp.ClientOSError as exc:
            # aiohttp reports a failed body write as its own ClientOSError, ours as the cause.
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, _WriteStalled):
                raise httpx.WriteTimeout(str(cause)) from exc
            raise httpx.NetworkError(str(exc) or type(exc).__name__) from exc
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
                write_seconds=timeouts.get("write"),
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
