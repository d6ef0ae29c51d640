"""The one place sink requests are sent, authenticated and retried.

Every sink calls :meth:`SinkClient.request`. Connection errors, timeouts, 5xx, 408 and 429 are
retried with capped, full-jittered exponential backoff (or after the server's ``Retry-After``), up to
``max_attempts`` in all, then raised as :class:`SinkUnavailable`; any other 4xx is raised at once as
:class:`SinkRejected` with the server's own message. Each retry is logged with what happens next::

    PUT cluster1:workload:deployment:default:web failed: 503; will retry in 0.8 s (attempt 2/6)

The bearer token is read from its file per request (a stat; re-read when it changed) and never
logged. Requests go out through a :class:`~kg_exporter.sink.wire.Wire`: aiohttp's client directly
for the client :func:`make_wire` makes, or a caller's ``httpx.AsyncClient``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import ssl
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import httpx

from kg_exporter.errors import SettingsError, SinkError, SinkRejected, SinkUnavailable
from kg_exporter.settings import SinkSettings
from kg_exporter.sink.backoff import Backoff, parse_retry_after
from kg_exporter.sink.token import TokenFile
from kg_exporter.sink.transport import AiohttpTransport, AiohttpWire
from kg_exporter.sink.wire import Answer, HttpxWire, Wire

log = logging.getLogger("kg_exporter.sink")

_MESSAGE_LIMIT = 500

Sleep = Callable[[float], Awaitable[None]]


def is_retryable(status: int) -> bool:
    return status >= 500 or status in (408, 429)


def make_wire(
    settings: SinkSettings, *, max_connections: int = 64, keepalive_seconds: float = 15.0
) -> AiohttpWire:
    """The pooled connections of one sink: the settings' CA bundle, aiohttp's client (see
    :mod:`kg_exporter.sink.transport`). ``keepalive_seconds`` (aiohttp's default 15): how long an
    idle connection is reused; below the server's own idle timeout, no request goes out on a
    connection the server is closing (a "Server disconnected" that a non-idempotent PATCH cannot
    simply repeat)."""
    return AiohttpWire(
        ssl_context=ssl_context(settings),
        max_connections=max_connections,
        keepalive_seconds=keepalive_seconds,
    )


def make_http_client(
    settings: SinkSettings,
    *,
    max_connections: int = 64,
    transport: httpx.AsyncBaseTransport | None = None,
    keepalive_seconds: float = 15.0,
) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` with the settings' timeout and CA bundle and aiohttp underneath,
    for callers who share one client between sinks and other requests (``open_sink(client=...)``);
    ``max_connections`` and ``keepalive_seconds`` as for :func:`make_wire`."""
    if transport is None:
        transport = AiohttpTransport(
            make_wire(
                settings, max_connections=max_connections, keepalive_seconds=keepalive_seconds
            )
        )
    return httpx.AsyncClient(transport=transport, timeout=settings.timeout_seconds)


def ssl_context(settings: SinkSettings) -> ssl.SSLContext:
    """System CAs, or only those of ``settings.ca_bundle`` when set."""
    if settings.ca_bundle is None:
        return ssl.create_default_context()
    try:
        return ssl.create_default_context(cafile=str(settings.ca_bundle))
    except (OSError, ssl.SSLError) as exc:
        raise SettingsError(
            f"setting 'sink.ca_bundle': cannot load {settings.ca_bundle}: {exc}"
        ) from exc


class SinkClient:
    """Sends one logical request, retrying it as the rules above say."""

    def __init__(
        self,
        client: Wire | httpx.AsyncClient,
        *,
        backoff: Backoff,
        timeout_seconds: float,
        token: TokenFile | None = None,
        owns_client: bool = False,
        sleep: Sleep = asyncio.sleep,
        rng: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``client``: the wire requests go through, or an ``httpx.AsyncClient`` to send them with
        (closed by :meth:`aclose` only when ``owns_client``)."""
        self._wire: Wire = HttpxWire(client) if isinstance(client, httpx.AsyncClient) else client
        self._owns = owns_client
        self._backoff = backoff
        # Per request, so an injected client still honours sink.timeout_seconds.
        self._timeout = timeout_seconds
        self._token = token
        self._sleep = sleep
        self._rng = rng
        self._clock = clock

    async def request(
        self,
        method: str,
        url: str,
        *,
        what: str,
        params: Mapping[str, str] | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        allow: Collection[int] = (),
        on_retry: Callable[[], None] | None = None,
    ) -> Answer:
        """The first answer with a 2xx status or one in ``allow``.

        ``url`` is complete and percent-encoded (see :func:`normalized_url`); ``params`` are
        appended as its query. ``what`` names the request in logs and errors ("PUT <id>"). Raises
        :class:`SinkRejected` or :class:`SinkUnavailable` as the module docstring says.
        ``on_retry`` is called before each further attempt: a caller whose request is not
        idempotent (a PATCH that appends) learns that an earlier attempt may have landed.
        """
        attempts = self._backoff.max_attempts
        if params:
            url = with_query(url, params)
        for attempt in range(1, attempts + 1):
            retry_after: float | None = None
            try:
                response = await self._wire.send(
                    method,
                    url,
                    content=content,
                    headers=self._headers(headers),
                    timeout_seconds=self._timeout,
                )
            except httpx.TransportError as exc:
                reason = _describe(exc)
                error: BaseException = exc
            else:
                status = response.status_code
                if 200 <= status < 300 or status in allow:
                    return response
                if not is_retryable(status):
                    raise SinkRejected(status, server_message(response))
                reason = str(status)
                error = SinkUnavailable(f"HTTP {status}: {server_message(response)}")
                retry_after = parse_retry_after(response.headers.get("Retry-After"), self._clock())
            if attempt == attempts:
                log.warning("%s failed: %s; giving up after %d attempts", what, reason, attempts)
                raise SinkUnavailable(
                    f"{what} failed after {attempts} attempts: {reason}"
                ) from error
            if retry_after is not None:
                delay = self._backoff.honour(retry_after)
            else:
                delay = self._backoff.delay(attempt, self._rng)
            log.warning(
                "%s failed: %s; will retry in %.1f s (attempt %d/%d)",
                what,
                reason,
                delay,
                attempt + 1,
                attempts,
            )
            if on_retry is not None:
                on_retry()
            await self._sleep(delay)
        raise AssertionError("unreachable: the loop returns or raises")

    async def aclose(self) -> None:
        if self._owns:
            await self._wire.aclose()

    def _headers(self, headers: Mapping[str, str] | None) -> Mapping[str, str]:
        if self._token is None:
            return headers or {}
        merged = dict(headers or {})
        merged["Authorization"] = f"Bearer {self._token.current()}"
        return merged


def normalized_url(url: str) -> str:
    """``url`` percent-encoded as httpx would send it (spaces, non-ASCII), so a path or query
    built onto it is sent exactly so by either wire."""
    return str(httpx.URL(url))


def shown_url(url: str) -> str:
    """``url`` as logs and errors may show it: without a ``user:password@`` (a store's Basic
    credentials may be written into its URL; logs mask tokens, not URLs)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def with_query(url: str, params: Mapping[str, str]) -> str:
    """``url`` with ``params`` as (more of) its query, each value percent-encoded in full."""
    query = urlencode(params, quote_via=quote, safe="")
    return f"{url}{'&' if '?' in url else '?'}{query}"


def server_message(response: Answer) -> str:
    """What the server said about a failure, short: the ``error``/``detail`` of a JSON body (ours,
    FastAPI's), else the start of the text."""
    text = response.text.strip()
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than Python's parser goes
        body = None
    if isinstance(body, dict):
        parts = [str(body[key]) for key in ("error", "detail", "message") if body.get(key)]
        if parts:
            text = ": ".join(parts)
    text = text or response.reason_phrase or f"HTTP {response.status_code}"
    return text if len(text) <= _MESSAGE_LIMIT else text[:_MESSAGE_LIMIT] + "..."


def json_body(response: Answer, what: str) -> Any:
    """The JSON of a successful response, or :class:`SinkError` when it is something else (a
    proxy's HTML page, a truncated body): a clear error instead of a crash deep in a caller."""
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        snippet = response.text[:120]
        raise SinkError(
            f"{what}: {shown_url(response.url)} answered {response.status_code} with a body that "
            f"is not JSON ({snippet!r})"
        ) from exc


def _describe(exc: httpx.TransportError) -> str:
    text = str(exc)
    name = type(exc).__name__
    return f"{name}: {text}" if text else name
