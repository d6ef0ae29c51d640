"""The aiohttp application and its lifecycle, on whatever event loop runs it.

``control.FakeKube`` runs this on a private thread; everything here assumes that loop only.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable

from aiohttp import web

from . import discovery, errors
from .errors import KubeError
from .handlers import ResourceHandlers
from .paging import Pager
from .paths import Target, parse_target, verb_of
from .resources import Obj, Registry
from .state import Faults, RequestRecord, Settings, Stats
from .store import Store
from .validation import ModelValidator
from .watching import OpenWatch, WatchStream

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_NOT_FOUND = KubeError(404, "NotFound", "the server could not find the requested resource")


def _status_response(exc: KubeError) -> web.Response:
    return web.json_response(exc.to_status(), status=exc.code)


class FakeKubeServer:
    def __init__(
        self,
        settings: Settings | None = None,
        *,
        history_limit: int = 10_000,
        validate: bool = True,
    ) -> None:
        self.settings = settings or Settings()
        self.store = Store(history_limit=history_limit)
        self.faults = Faults()
        self.stats = Stats()
        self.open_watches: set[OpenWatch] = set()
        self._pager = Pager()
        watches = WatchStream(
            store=self.store,
            settings=self.settings,
            faults=self.faults,
            stats=self.stats,
            open_watches=self.open_watches,
        )
        self._resources = ResourceHandlers(self.store, self._pager, watches)
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._restore: asyncio.TimerHandle | None = None
        self._validate = validate
        self._validator: ModelValidator | None = None
        self.host = "127.0.0.1"
        self.port = 0

    # -- lifecycle ---------------------------------------------------------------------

    def make_app(self) -> web.Application:
        # One catch-all route: kubernetes_asyncio asks for "/version/", "/apis/" and "/api/"
        # with a trailing slash, which the apiserver accepts, so paths are normalized here.
        app = web.Application(middlewares=[self._middleware])
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        if self._validate:
            self._validator = ModelValidator()  # needs this loop: it owns an aiohttp session
            self.store.validate = self._validator
        # A short shutdown timeout: stop() ends watches itself and must not wait on clients.
        self._runner = web.AppRunner(self.make_app(), shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        await self._listen(host, port)
        return self.port

    async def stop(self) -> None:
        if self._restore is not None:
            self._restore.cancel()
        # Like a gracefully terminating apiserver: watches end cleanly (EOF) first; whatever
        # is still open after a moment is cut.
        self.store.end_watches(abrupt=False)
        ended = [asyncio.create_task(w.ended.wait()) for w in self.open_watches]
        if ended:
            _, late = await asyncio.wait(ended, timeout=1.0)
            for task in late:
                task.cancel()
        self._abort_connections()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._validator is not None:
            await self._validator.close()
            self._validator = None

    async def _listen(self, host: str, port: int) -> None:
        assert self._runner is not None
        self._site = web.TCPSite(self._runner, host, port, reuse_address=True)
        await self._site.start()
        # Port 0 binds a free port; the runner knows which one it got.
        self.host, self.port = host, self._runner.addresses[-1][1]

    def _abort_connections(self) -> None:
        if self._runner is not None and self._runner.server is not None:
            for conn in self._runner.server.connections:
                if conn.transport is not None:
                    conn.transport.abort()

    # -- faults --------------------------------------------------------------------------

    async def set_unavailable(self, seconds: float, *, refuse: bool) -> None:
        """Be down for ``seconds`` (``math.inf``: until called with 0). Open watches break,
        as they would when the apiserver goes away. ``refuse`` closes the listening socket
        (connection refused) instead of answering 503."""
        loop = asyncio.get_running_loop()
        if self._restore is not None:
            self._restore.cancel()
            self._restore = None
        if seconds <= 0:
            await self._up()
            return
        self.faults.unavailable_until = loop.time() + seconds
        self.faults.refuse = refuse
        self.store.end_watches(abrupt=True)
        if refuse and self._site is not None:
            await self._site.stop()
            self._site = None
            self._abort_connections()
        if not math.isinf(seconds):
            self._restore = loop.call_later(seconds, lambda: asyncio.ensure_future(self._up()))

    async def _up(self) -> None:
        self._restore = None
        self.faults.unavailable_until = -math.inf
        if self._site is None and self._runner is not None:
            await self._listen(self.host, self.port)

    # -- request handling ----------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        target = parse_target(request.path, self.store.registry)
        verb = verb_of(request.method, target, request.query)
        self.stats.requests[(verb, request.path)] += 1
        status = 500
        try:
            resp = await self._guarded(request, handler, verb, target)
            status = resp.status
            return resp
        except KubeError as exc:
            status = exc.code
            return _status_response(exc)
        finally:
            self.stats.log.append(RequestRecord(verb, request.path, request.query_string, status))

    async def _guarded(
        self, request: web.Request, handler: Handler, verb: str, target: Target | None
    ) -> web.StreamResponse:
        if self.faults.unavailable(asyncio.get_running_loop().time()):
            if self.faults.refuse and request.transport is not None:
                request.transport.abort()  # a kept-alive connection is reset, not answered
            raise KubeError(503, "ServiceUnavailable", "the server is currently unavailable")
        token = self.settings.token
        if token is not None and request.headers.get("Authorization") != f"Bearer {token}":
            raise KubeError(401, "Unauthorized", "Unauthorized")
        if target is not None and verb in self.faults.forbidden.get(target.resource.qualified, ()):
            raise errors.forbidden(target.resource, verb, target.namespace)
        injected = self.faults.take_request_failure(verb)
        if injected is not None:
            raise errors.injected(injected)
        return await handler(request)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        target = parse_target(request.path, self.store.registry)
        if target is not None:
            return await self._resources.handle(request, target)
        if request.method == "GET":
            doc = _discovery_doc(self.store.registry, [p for p in request.path.split("/") if p])
            if doc is not None:
                return web.json_response(doc)
            if request.path.rstrip("/") in ("/healthz", "/readyz", "/livez"):
                return web.Response(text="ok")
        raise _NOT_FOUND


def _discovery_doc(registry: Registry, parts: list[str]) -> Obj | None:
    if parts == ["version"]:
        return discovery.VERSION
    if parts == ["api"]:
        return discovery.core_versions()
    if parts == ["apis"]:
        return discovery.group_list(registry)
    if parts == ["api", "v1"]:
        return discovery.resource_list(registry, "", "v1")
    if len(parts) == 2 and parts[0] == "apis":
        return discovery.group(registry, parts[1])
    if len(parts) == 3 and parts[0] == "apis":
        return discovery.resource_list(registry, parts[1], parts[2])
    return None
