"""A fault-injecting HTTP proxy in front of the reference Metadata Service (aiohttp, in a thread of
the test process). :attr:`FaultProxy.policy` decides, per request, what the daemon gets: the real
answer, a 503, a 400, a 200 with garbage, an answer 2 s late, or no answer at all.

Faults are about subgraph writes, not HTTP requests: a batch (``POST /subgraph``, one subgraph per
line) is first judged as a request (``Seen("POST", "/subgraph")``), then, if forwarded, each of its
lines as the ``PUT /subgraph/{id}`` it stands for. A line given ``503``, ``400`` or ``garbage``
gets that as its own result (the other lines are forwarded and written); ``slow`` or ``hang`` on a
line delays or holds the whole request. Every fault is counted once per subgraph it hit.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from tests.support.processes import free_port


@dataclass(frozen=True)
class Seen:
    method: str
    path: str


#: What to do with one request: None forwards it; else one of the FAULTS.
Policy = Callable[[Seen], str | None]
FAULTS = ("503", "400", "garbage", "slow", "hang")
SLOW_SECONDS = 2.0
#: What a line of a batch gets for a fault the proxy answers itself.
LINE_RESULTS = {
    "503": {"status": 503, "error": "injected"},
    "400": {"status": 400, "error": "injected: rejected for good"},
    "garbage": {"status": "garbage"},
}


def forward_all(_: Seen) -> str | None:
    return None


class FaultProxy:
    def __init__(self, upstream: str, *, slow_seconds: float = SLOW_SECONDS) -> None:
        self.upstream = upstream.rstrip("/")
        self.slow_seconds = slow_seconds
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.policy: Policy = forward_all
        self.faults: Counter[str] = Counter()
        self.forwarded: Counter[str] = Counter()
        #: Faulty requests forwarded all the same ("slow") whose upstream answer came back.
        self.delivered: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._release: asyncio.Event | None = None

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *_: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def count(self, fault: str) -> int:
        with self._lock:
            return self.faults[fault]

    async def _start(self) -> None:
        self._release = asyncio.Event()
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def _stop(self) -> None:
        assert self._release is not None
        self._release.set()  # let hanging requests go
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    def _judge(self, seen: Seen) -> str | None:
        fault = self.policy(seen)
        with self._lock:
            if fault is None:
                self.forwarded[seen.method] += 1
            else:
                self.faults[fault] += 1
        return fault

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        fault = self._judge(Seen(request.method, request.path))
        body = await request.read()
        if fault is None and request.method == "POST" and request.path == "/subgraph":
            return await self._batch(request, body)
        return await self._answer(request, body, fault)

    async def _batch(self, request: web.Request, body: bytes) -> web.StreamResponse:
        """Each line of a batch judged as the PUT of its subgraph (see the module docstring)."""
        lines = [line for line in body.split(b"\n") if line.strip()]
        injected: dict[int, dict[str, object]] = {}
        forwarded: list[bytes] = []
        delay: str | None = None
        for index, line in enumerate(lines):
            subgraph_id = str(json.loads(line).get("id"))
            fault = self._judge(Seen("PUT", f"/subgraph/{subgraph_id}"))
            if fault in LINE_RESULTS:
                injected[index] = {"id": subgraph_id, **LINE_RESULTS[str(fault)]}
                continue
            if fault is not None:
                delay = fault
            forwarded.append(line)
        if not injected:
            return await self._answer(request, body, delay)
        results: list[object] = []
        if forwarded:
            answer = await self._answer(request, b"\n".join(forwarded) + b"\n", delay)
            if answer.status != 200:
                return answer  # the request as a whole was refused: as it would have been
            assert isinstance(answer, web.Response) and isinstance(answer.body, bytes)
            results = list(json.loads(answer.body)["results"])
        merged = [injected[i] if i in injected else results.pop(0) for i in range(len(lines))]
        return web.json_response({"results": merged})

    async def _answer(
        self, request: web.Request, body: bytes, fault: str | None
    ) -> web.StreamResponse:
        if fault == "503":
            return web.json_response({"error": "injected"}, status=503)
        if fault == "400":
            return web.json_response({"error": "injected: rejected for good"}, status=400)
        if fault == "garbage":
            return web.Response(
                status=200, body=b"\x00<html>not json{{", content_type="application/json"
            )
        if fault == "hang":
            assert self._release is not None
            await self._release.wait()
            return web.Response(status=503)
        if fault == "slow":
            await asyncio.sleep(self.slow_seconds)
        assert self._session is not None
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() not in {"host", "content-length", "transfer-encoding", "connection"}
        }
        async with self._session.request(
            request.method,
            self.upstream + request.path_qs,
            data=body if body else None,
            headers=headers,
        ) as upstream:
            data = await upstream.read()
            if fault is not None:
                with self._lock:
                    self.delivered[fault] += 1
            out = {
                k: v
                for k, v in upstream.headers.items()
                if k.lower() in {"content-type", "etag", "location", "retry-after"}
            }
            return web.Response(status=upstream.status, body=data, headers=out)
