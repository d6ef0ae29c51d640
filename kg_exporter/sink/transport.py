"""An httpx transport that sends requests with aiohttp's client.

Why: on a 2-core machine httpx's own connection pool (httpcore) spends ~1 ms of CPU per request
scanning its connections once several requests are in flight, and tops out near 500 requests/s
however many connections it has; aiohttp's client does the same work in a fraction of that. The
sinks keep httpx's interface (``httpx.AsyncClient``: timeouts, headers, a transport one can mock)
and get aiohttp's speed. aiohttp errors are mapped onto httpx's exception tree, so callers see only
httpx exceptions, as with the default transport.

The aiohttp session belongs to the event loop it was created on; it is made on first use (a client
may be built before the loop runs) and made anew if a later request comes from another loop.
"""

from __future__ import annotations

import asyncio
import ssl

import aiohttp
import httpx
from yarl import URL

# aiohttp frames the request itself; forwarding these would contradict what it sends.
_REQUEST_HEADERS_SKIPPED = frozenset({"host", "content-length", "transfer-encoding", "connection"})
# aiohttp has already decoded the body, so these no longer describe it.
_RESPONSE_HEADERS_SKIPPED = frozenset({"content-encoding", "content-length", "transfer-encoding"})


class AiohttpTransport(httpx.AsyncBaseTransport):
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

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._session_for_this_loop()
        timeouts = request.extensions.get("timeout", {})
        # No limit on the wait for one of this client's own connections (httpx's "pool" timeout,
        # aiohttp's "connect"): a request waiting there has not reached the server; it queues
        # behind this process's other requests, each bounded by its own connect and read limits.
        # Counted, a burst of more requests than connections failed on a busy but healthy server
        # without ever being sent: of 1,000 concurrent PUTs to a loaded reference service, 370
        # ended in ConnectTimeout at 10 s while the first 630 were answered. (A host name's lookup
        # fell under that limit too; it is bounded by the system resolver's own timeouts.)
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=None,
            sock_connect=timeouts.get("connect"),
            sock_read=timeouts.get("read"),
        )
        headers = [
            (name, value)
            for name, value in request.headers.multi_items()
            if name.lower() not in _REQUEST_HEADERS_SKIPPED
        ]
        if "accept-encoding" in request.headers:
            # httpx offers br/zstd when their libraries are installed; aiohttp may lack them.
            headers = [(n, v) for n, v in headers if n.lower() != "accept-encoding"]
            headers.append(("Accept-Encoding", "gzip, deflate"))
        body = await request.aread()
        try:
            async with session.request(
                request.method,
                # encoded=True: send the path exactly as httpx built it; yarl would otherwise
                # decode escapes such as %2E and change which resource is named.
                URL(str(request.url), encoded=True),
                data=body or None,
                headers=headers,
                allow_redirects=False,
                timeout=timeout,
            ) as response:
                content = await response.read()
        except aiohttp.ConnectionTimeoutError as exc:
            raise httpx.ConnectTimeout(str(exc) or "connect timed out", request=request) from exc
        except aiohttp.ClientConnectorError as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc
        except (aiohttp.SocketTimeoutError, TimeoutError) as exc:
            raise httpx.ReadTimeout(str(exc) or "read timed out", request=request) from exc
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError) as exc:
            raise httpx.RemoteProtocolError(str(exc), request=request) from exc
        except aiohttp.ClientError as exc:
            raise httpx.NetworkError(str(exc) or type(exc).__name__, request=request) from exc
        return httpx.Response(
            response.status,
            headers=[
                (name, value)
                for name, value in response.headers.items()
                if name.lower() not in _RESPONSE_HEADERS_SKIPPED
            ],
            content=content,
            request=request,
        )

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
                # httpx already set User-Agent, Accept and Accept-Encoding; add nothing.
                skip_auto_headers=("User-Agent", "Content-Type"),
                auto_decompress=True,
            )
            self._loop = loop
        return self._session
