"""What the sink client sends its requests through, and the answer it gets back.

A :class:`Wire` sends one request and returns an :class:`Answer`: the status, headers and whole
body, nothing more, which is all a sink reads. Two wires exist:

- :class:`~kg_exporter.sink.transport.AiohttpWire`, what :func:`~kg_exporter.sink.open_sink`
  uses: aiohttp's client straight from the request, without building httpx's request and
  response objects around it (measured: about half the client's CPU per PUT, see
  docs/metadata-service.md, *The client's CPU per PUT*);
- :class:`HttpxWire`, for a caller's own ``httpx.AsyncClient`` (``open_sink(client=...)``): its
  transport, default headers, cookies and event hooks apply as they would to any request.

Either raises httpx's exceptions (``httpx.TransportError`` and its subclasses) for failures
before an answer, so the retry rules and the messages ("ConnectError: ...") are the same.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Mapping
from typing import Any, Protocol

import httpx


class Answer:
    """One HTTP response, its body read whole."""

    __slots__ = ("content", "headers", "reason_phrase", "status_code", "url")

    def __init__(
        self,
        status_code: int,
        headers: Mapping[str, str],
        content: bytes,
        url: str,
        reason_phrase: str = "",
    ) -> None:
        self.status_code = status_code
        #: Case-insensitive, as HTTP header names are (both wires give such a mapping).
        self.headers = headers
        self.content = content
        self.url = url
        self.reason_phrase = reason_phrase

    @property
    def text(self) -> str:
        """The body decoded with the charset the Content-Type names (UTF-8 when none or an
        unknown one); undecodable bytes become U+FFFD rather than an error."""
        return self.content.decode(_charset(self.headers.get("Content-Type")), errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON; ``ValueError`` (or ``UnicodeDecodeError``) when it is not,
        ``RecursionError`` when it nests deeper than Python's parser goes."""
        return json.loads(self.content)

    def __repr__(self) -> str:
        return f"<Answer {self.status_code} from {self.url}>"


class Wire(Protocol):
    """Sends one request; raises ``httpx.TransportError`` when no answer came."""

    async def send(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None,
        headers: Mapping[str, str],
        timeout_seconds: float,
    ) -> Answer:
        """``url`` is complete and percent-encoded; ``timeout_seconds`` bounds connecting and
        each wait for the server, not the wait for a free connection of this client's own pool."""
        ...

    async def aclose(self) -> None:
        """Release the connections."""
        ...


class HttpxWire:
    """An ``httpx.AsyncClient`` as a :class:`Wire`."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client
        self._timeouts: dict[float, httpx.Timeout] = {}

    async def send(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None,
        headers: Mapping[str, str],
        timeout_seconds: float,
    ) -> Answer:
        limits = self._timeouts.get(timeout_seconds)
        if limits is None:
            limits = self._timeouts.setdefault(timeout_seconds, httpx.Timeout(timeout_seconds))
        response = await self._client.request(
            method, url, content=content, headers=headers, timeout=limits
        )
        return Answer(
            response.status_code,
            response.headers,
            response.content,
            str(response.url),
            response.reason_phrase,
        )

    async def aclose(self) -> None:
        await self._client.aclose()


def _charset(content_type: str | None) -> str:
    if content_type:
        for parameter in content_type.split(";")[1:]:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "charset":
                charset = value.strip().strip('"').strip()
                try:
                    return codecs.lookup(charset).name
                except LookupError:
                    break
    return "utf-8"
