"""The watch stream: newline-delimited JSON events over one chunked HTTP response.

Mirrors the apiserver: replay (initial ADDED or history after resourceVersion), then live
events; label-selector watches see objects enter (ADDED) and leave (DELETED); BOOKMARKs when
asked; a clean end after timeoutSeconds; a 410 as an ERROR event, not as an HTTP status.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from aiohttp import web

from . import errors
from .errors import KubeError
from .paths import Target
from .resources import Obj, Resource
from .selection import Selector
from .state import Faults, Settings, Stats
from .store import Change, EventType, Store, StreamEnd, Subscription

_TRUE = frozenset({"true", "1"})


@dataclass(eq=False)
class OpenWatch:
    request: web.Request
    subscription: Subscription | None = None
    ended: asyncio.Event = field(default_factory=asyncio.Event)  # set once the handler is done


def to_event(change: Change, selector: Selector) -> tuple[str, Obj] | None:
    """The event this watch should see for a change, if any."""
    now, before = selector.matches(change.obj), selector.matches(change.old)
    if change.type is EventType.ADDED:
        return (EventType.ADDED, change.obj) if now else None
    if change.type is EventType.DELETED:
        return (EventType.DELETED, change.obj) if now else None
    if now and before:
        return (EventType.MODIFIED, change.obj)
    if now:
        return (EventType.ADDED, change.obj)
    if before:
        # The apiserver reports an object leaving the selection as DELETED (with its new state).
        return (EventType.DELETED, change.obj)
    return None


def as_version(obj: Obj, res: Resource) -> Obj:
    """The object as served at ``res``'s version: a CRD's objects are the same at every served
    version, only their ``apiVersion`` says which one was asked for."""
    if obj.get("apiVersion") in (None, res.api_version):
        return obj
    return {**obj, "apiVersion": res.api_version}


def bookmark(res: Resource, rv: int) -> Obj:
    return {
        "kind": res.kind,
        "apiVersion": res.api_version,
        "metadata": {"resourceVersion": str(rv)},
    }


@dataclass(frozen=True)
class WatchOptions:
    selector: Selector
    since: int | None  # None: start with the current state as synthetic ADDED events
    seconds: float | None  # how long the stream stays open; None: until ended
    bookmarks: bool

    @classmethod
    def parse(cls, query: Mapping[str, str], settings: Settings) -> WatchOptions:
        """Every query error surfaces here, before the 200 goes out."""
        try:
            selector = Selector.parse(query.get("labelSelector"), query.get("fieldSelector"))
        except ValueError as exc:
            raise errors.bad_request(str(exc)) from exc
        raw_rv = query.get("resourceVersion", "")
        raw_timeout = query.get("timeoutSeconds")
        try:
            since = None if raw_rv in ("", "0") else int(raw_rv)
            seconds = float(raw_timeout) if raw_timeout is not None else None
        except ValueError as exc:
            raise errors.bad_request(f"invalid watch parameter: {exc}") from exc
        if not seconds or seconds <= 0:
            seconds = settings.default_watch_timeout
        bookmarks = query.get("allowWatchBookmarks", "").lower() in _TRUE
        return cls(selector, since, seconds, bookmarks)


class WatchStream:
    def __init__(
        self,
        *,
        store: Store,
        settings: Settings,
        faults: Faults,
        stats: Stats,
        open_watches: set[OpenWatch],
    ) -> None:
        self._store = store
        self._settings = settings
        self._faults = faults
        self._stats = stats
        self._open = open_watches

    async def serve(self, request: web.Request, target: Target) -> web.StreamResponse:
        opts = WatchOptions.parse(request.query, self._settings)
        since = opts.since

        error: KubeError | None = None
        sub: Subscription | None = None
        forced = self._faults.take_watch_failure(target.resource.plural)
        if forced is not None and forced != 410:
            raise errors.injected(forced)
        if forced == 410:
            current = self._store.resource_version
            error = errors.too_old(since if since is not None else current, current)
        else:
            try:
                sub = self._store.subscribe(target.resource, target.namespace, since)
            except KubeError as exc:
                error = exc

        watch = OpenWatch(request, sub)
        self._open.add(watch)
        resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        resp.enable_chunked_encoding()
        try:
            await resp.prepare(request)
            if error is not None:
                # The apiserver reports an expired resourceVersion inside a 200 stream.
                await self._send(resp, "ERROR", error.to_status())
            elif sub is not None:
                abrupt = await self._pump(request, resp, target.resource, sub, opts)
                if abrupt:
                    return resp
            await resp.write_eof()
        except ConnectionError:
            pass  # the client went away; nothing to tell it
        finally:
            if sub is not None:
                self._store.unsubscribe(sub)
            self._open.discard(watch)
            watch.ended.set()
        return resp

    async def _pump(
        self,
        request: web.Request,
        resp: web.StreamResponse,
        res: Resource,
        sub: Subscription,
        opts: WatchOptions,
    ) -> bool:
        """Stream until timeout, client loss or a StreamEnd; True if the end was abrupt."""
        loop = asyncio.get_running_loop()
        interval = self._settings.bookmark_interval
        deadline = loop.time() + opts.seconds if opts.seconds else None
        next_bookmark = loop.time() + interval if opts.bookmarks else None
        while True:
            now = loop.time()
            if deadline is not None and now >= deadline:
                return False
            if request.transport is None or request.transport.is_closing():
                return False
            if next_bookmark is not None and now >= next_bookmark and sub.queue.empty():
                # Queue empty: every change up to the current version has been sent, so the
                # bookmark cannot make the client skip one.
                rv = max(self._store.resource_version, opts.since or 0)
                await self._send(resp, "BOOKMARK", bookmark(res, rv))
                next_bookmark = now + interval
                continue
            if not sub.queue.empty():
                # Take what is queued without waiting: wait_for(get(), 0) would time out before
                # the getter ever runs, and a due bookmark would then stall the stream for good.
                item = sub.queue.get_nowait()
            else:
                wake = [t for t in (deadline, next_bookmark) if t is not None]
                wait = min([*wake, now + self._settings.liveness_check]) - now
                try:
                    item = await asyncio.wait_for(sub.queue.get(), max(wait, 0.001))
                except TimeoutError:
                    continue
            if isinstance(item, StreamEnd):
                if item.abrupt and request.transport is not None:
                    # A reset mid-stream: the client sees a broken chunked body, not an EOF.
                    request.transport.abort()
                return item.abrupt
            event = to_event(item, opts.selector)
            if event is not None:
                await self._send(resp, event[0], as_version(event[1], res))

    async def _send(self, resp: web.StreamResponse, kind: str, obj: Obj) -> None:
        line = json.dumps({"type": kind, "object": obj}, separators=(",", ":")) + "\n"
        await resp.write(line.encode())
        self._stats.events_sent[kind] += 1
