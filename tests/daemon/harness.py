"""The daemon in process: FakeKube for the cluster, MemorySink for the Metadata Service."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from kubernetes_asyncio.client import ApiClient
from prometheus_client import CollectorRegistry

from kg_exporter.runtime import Daemon
from kg_exporter.settings import Settings
from tests.daemon.fakes import FixedClock, MemorySink

FAST = {
    "listen": "127.0.0.1:0",
    "retry_initial_seconds": 0.05,
    "retry_max_seconds": 0.2,
    "watch_backoff_initial_seconds": 0.05,
    "watch_backoff_max_seconds": 0.2,
    "sink_probe_interval_seconds": 0.2,
    "drain_deadline_seconds": 2.0,
}


def daemon_settings(**overrides: Any) -> Settings:
    daemon = {**FAST, **overrides.pop("daemon", {})}
    return Settings(daemon=daemon, **overrides)


async def eventually(check: Callable[[], bool], within: float = 30.0, what: str = "") -> None:
    """Poll ``check``; the deadline only matters when it fails (a busy machine is slow, not
    wrong)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"not in {within} s: {what or check}")
        await asyncio.sleep(0.02)


class Running:
    def __init__(self, daemon: Daemon, stop: asyncio.Event, task: asyncio.Task[int]) -> None:
        self.daemon = daemon
        self.stop = stop
        self.task = task

    @property
    def url(self) -> str:
        return self.daemon.server.url

    async def get(self, path: str) -> httpx.Response:
        async with httpx.AsyncClient() as client:
            return await client.get(self.url + path)

    async def idle(self) -> None:
        """Until the queue is empty and nothing is being written."""
        await asyncio.wait_for(self.daemon.queue.join(), 30)

    async def finish(self) -> int:
        self.stop.set()
        return await asyncio.wait_for(self.task, 15)


@asynccontextmanager
async def running_daemon(
    api: ApiClient,
    sink: MemorySink,
    *,
    settings: Settings | None = None,
    clock: FixedClock | None = None,
    synced: bool = True,
) -> AsyncIterator[Running]:
    daemon = Daemon(
        settings or daemon_settings(),
        api=api,
        sink=sink,
        registry=CollectorRegistry(),
        clock=clock or FixedClock(),
    )
    stop = asyncio.Event()
    task = asyncio.create_task(daemon.run(stop))
    running = Running(daemon, stop, task)
    try:
        if synced:
            await asyncio.wait_for(daemon.dispatcher.synced.wait(), 60)
        yield running
    finally:
        stop.set()
        if not task.done():
            await asyncio.wait_for(task, 15)
