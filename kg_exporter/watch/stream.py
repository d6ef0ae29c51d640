"""One list page and one watch stream, as raw JSON (no typed models: they cost CPU and memory and
would be thrown away for a compact projection anyway).

Requests go through ``ApiClient.call_api`` (auth, TLS, token refresh) with ``_preload_content``
off, so we read the body ourselves: a watch is newline-delimited JSON, split here without a line
length limit (an object with large annotations is still one event).

A ``410 Gone`` — as an HTTP status, or as an ERROR event in a watch, which is how the API server
sends it — raises :class:`Expired`: the caller must relist. Other failures raise
:class:`ApiStatusError` or the transport's own exceptions (``aiohttp.ClientError``,
``asyncio.TimeoutError``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from kubernetes_asyncio.client import ApiClient

from kg_exporter.errors import WatchError
from kg_exporter.watch import deepjson
from kg_exporter.watch.targets import Target

log = logging.getLogger(__name__)

_CONNECT_TIMEOUT = 10.0


class ApiStatusError(WatchError):
    """The API server answered a list or watch with an error status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


class Expired(ApiStatusError):
    """410 Gone: the resourceVersion (or continue token) is older than the server's history."""


@dataclass(frozen=True, slots=True)
class Page:
    items: list[dict[str, Any]]
    resource_version: str
    continue_token: str | None


@dataclass(frozen=True, slots=True)
class RawEvent:
    type: str
    object: dict[str, Any]

    @property
    def resource_version(self) -> str | None:
        meta = self.object.get("metadata")
        rv = meta.get("resourceVersion") if isinstance(meta, dict) else None
        return rv if isinstance(rv, str) and rv else None


def _status_error(status: int, body: Mapping[str, Any] | str) -> ApiStatusError:
    if isinstance(body, Mapping):
        message = str(body.get("message") or body.get("reason") or "")
    else:
        message = body[:200]
    return Expired(status, message) if status == 410 else ApiStatusError(status, message)


async def _request(
    api: ApiClient,
    path: str,
    query: list[tuple[str, str]],
    limits: aiohttp.ClientTimeout,
) -> aiohttp.ClientResponse:
    response: aiohttp.ClientResponse = await api.call_api(
        path,
        "GET",
        query_params=query,
        header_params={"Accept": "application/json"},
        auth_settings=["BearerToken"],
        _preload_content=False,
        _request_timeout=limits,
    )
    if response.status != 200:
        try:
            text = await response.text()
        finally:
            response.release()
        try:
            body = deepjson.loads(text)[0]
        except ValueError:
            body = None
        raise _status_error(response.status, body if isinstance(body, Mapping) else text)
    return response


def _selector(target: Target) -> list[tuple[str, str]]:
    return [("labelSelector", target.label_selector)] if target.label_selector else []


async def get_json(api: ApiClient, path: str, *, timeout_seconds: float = 30.0) -> Any:
    """The JSON ``path`` answers (a discovery document); None on 404."""
    limits = aiohttp.ClientTimeout(total=timeout_seconds, connect=_CONNECT_TIMEOUT)
    try:
        response = await _request(api, path, [], limits)
    except ApiStatusError as exc:
        if exc.status == 404:
            return None
        raise
    try:
        return _read(await response.read(), f"GET {path}")
    except ValueError as exc:
        raise WatchError(f"GET {path}: the answer is not JSON") from exc
    finally:
        response.release()


async def list_page(
    api: ApiClient,
    target: Target,
    *,
    limit: int,
    continue_token: str | None = None,
    timeout_seconds: float = 60.0,
) -> Page:
    """One page of the collection; follow ``continue_token`` for the next."""
    query = [("limit", str(limit)), *_selector(target)]
    if continue_token:
        query.append(("continue", continue_token))
    timeout = aiohttp.ClientTimeout(total=timeout_seconds, connect=_CONNECT_TIMEOUT)
    response = await _request(api, target.collection_path, query, timeout)
    try:
        body = _read(await response.read(), f"listing {target}")
    except ValueError as exc:
        raise WatchError(f"listing {target}: the answer is not JSON") from exc
    finally:
        response.release()
    meta = body.get("metadata") if isinstance(body, dict) else None
    if not isinstance(meta, dict) or not isinstance(body.get("items"), list):
        raise WatchError(f"listing {target}: the answer is not a list")
    # Both go back to the server as query parameters: a non-string was stringified by the client
    # (a garbage resourceVersion to resume every watch from; the same "token" paged forever).
    version, token = meta.get("resourceVersion"), meta.get("continue")
    if not isinstance(version, str | None) or not isinstance(token, str | None):
        raise WatchError(f"listing {target}: the answer's resourceVersion or continue is not a string")
    items = [item for item in body["items"] if isinstance(item, dict)]
    for item in items:
        # List items come without kind and apiVersion. Whatever an item says, it is of the kind
        # its collection serves: a "Job" in the Deployments' answer would be a phantom Job.
        item["kind"] = target.kind
    return Page(items, version or "", token or None)


async def watch_events(
    api: ApiClient,
    target: Target,
    *,
    resource_version: str,
    timeout_seconds: int,
) -> AsyncIterator[RawEvent]:
    """Events after ``resource_version`` until the server ends the stream (after about
    ``timeout_seconds``), BOOKMARKs included. Raises :class:`Expired` on a 410 ERROR event."""
    query = [
        ("watch", "true"),
        ("resourceVersion", resource_version),
        ("allowWatchBookmarks", "true"),
        ("timeoutSeconds", str(timeout_seconds)),
        *_selector(target),
    ]
    # No total limit: a watch is long. A read gap much longer than the server's own timeout means
    # the connection is dead without having been closed.
    timeout = aiohttp.ClientTimeout(
        total=None, connect=_CONNECT_TIMEOUT, sock_read=timeout_seconds + 30
    )
    response = await _request(api, target.collection_path, query, timeout)
    try:
        buffer = b""
        async for chunk in response.content.iter_any():
            buffer += chunk
            if b"\n" not in chunk:
                continue  # part of a long event: split once it is complete
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                if line.strip():
                    yield _event(target, line)
        if buffer.strip():
            yield _event(target, buffer)
    finally:
        response.close()


def _read(body: bytes, what: str) -> Any:
    """The JSON ``body``; values nested past :data:`deepjson.MAX_DEPTH` read as null, and said."""
    data, cut = deepjson.loads(body)
    if cut:
        log.warning(
            "%s: values nested more than %d levels deep are read as null (the parser stops "
            "near 1,000 levels; nothing kg-exporter reads lies that deep)",
            what,
            deepjson.MAX_DEPTH,
        )
    return data


def _event(target: Target, line: bytes) -> RawEvent:
    try:
        data = _read(line, f"watch of {target}")
    except ValueError as exc:
        raise WatchError(f"watch of {target}: an event is not JSON") from exc
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise WatchError(f"watch of {target}: an event without an object")
    event_type, obj = str(data.get("type")), data["object"]
    if event_type == "ERROR":
        code = obj.get("code")
        raise _status_error(code if isinstance(code, int) else 500, obj)
    if event_type != "BOOKMARK":
        obj["kind"] = target.kind  # as for listed items: the collection's kind, whatever it says
    return RawEvent(event_type, obj)
