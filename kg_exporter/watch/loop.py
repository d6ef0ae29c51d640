"""Keep one target listed and watched until cancelled.

What happens after each kind of ending, and the line logged:

- the server ended the watch (its timeout): resume from the last resourceVersion at once;
- ``410 Gone``: relist at once ("relisting deployments after 410: ..."); a relist reports the keys
  that vanished meanwhile, so their stop is not missed; repeated 410s back off;
- connection dropped or refused, timeout, API error: wait a capped, jittered, growing delay, then
  resume from the last resourceVersion, or relist when there is none ("watch of deployments
  failed: ...; resuming from resourceVersion 1234 in 0.8 s").

The backoff resets once a watch delivers anything (bookmarks included).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable

import aiohttp
from kubernetes_asyncio.client import ApiClient
from kubernetes_asyncio.client.exceptions import ApiException

from kg_exporter.errors import WatchError
from kg_exporter.watch.cycle import Cursor, relist, watch
from kg_exporter.watch.stream import ApiStatusError, Expired
from kg_exporter.watch.targets import Handler, Target

log = logging.getLogger("kg_exporter.watch")

#: Failures worth a reconnect. Anything else is a bug and ends the loop loudly.
RETRIED = (aiohttp.ClientError, asyncio.TimeoutError, OSError, WatchError, ApiException)


class Watcher:
    """The list+watch loop of one target. ``backoff(n)`` is the wait after ``n`` consecutive
    failures; ``on_restart(target, reason)`` counts restarts (expired, dropped, timeout, error)."""

    def __init__(
        self,
        api: ApiClient,
        target: Target,
        handler: Handler,
        *,
        backoff: Callable[[int], float],
        page_size: int = 500,
        timeout_seconds: int = 300,
        on_restart: Callable[[Target, str], None] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.api = api
        self.target = target
        self.handler = handler
        self.cursor = Cursor()
        self._backoff = backoff
        self._page_size = page_size
        self._timeout = timeout_seconds
        self._on_restart = on_restart
        self._sleep = sleep
        self._rng = rng

    def _timeout_seconds(self) -> int:
        # Spread between timeout and 2x timeout (client-go does the same) so that the watches of
        # many kinds do not all end in the same second.
        return int(self._timeout * (1.0 + self._rng()))

    def _restart(self, reason: str) -> None:
        if self._on_restart is not None:
            self._on_restart(self.target, reason)

    async def run(self) -> None:
        failures = expired = 0
        cursor = self.cursor
        while True:
            try:
                if cursor.resource_version is None:
                    count = await relist(
                        self.api, self.target, self.handler, cursor, page_size=self._page_size
                    )
                    log.info(
                        "listed %d %s at resourceVersion %s; watching",
                        count,
                        self.target,
                        cursor.resource_version,
                    )
                    failures = 0
                await watch(
                    self.api,
                    self.target,
                    self.handler,
                    cursor,
                    timeout_seconds=self._timeout_seconds(),
                )
                failures = expired = 0
                self._restart("timeout")
                log.debug(
                    "watch of %s ended by the server; resuming from resourceVersion %s",
                    self.target,
                    cursor.resource_version,
                )
            except Expired as exc:
                cursor.resource_version = None
                expired += 1
                self._restart("expired")
                delay = self._backoff(expired - 1) if expired > 1 else 0.0
                when = f" in {delay:.1f} s" if delay else ""
                log.info("relisting %s after 410%s: %s", self.target, when, exc)
                if delay:
                    await self._sleep(delay)
            except RETRIED as exc:
                if cursor.received:
                    failures = 0
                cursor.received = 0
                failures += 1
                reason = "error" if isinstance(exc, WatchError | ApiException) else "dropped"
                self._restart(reason)
                delay = self._backoff(failures)
                if cursor.resource_version is None:
                    plan = "relisting"
                else:
                    plan = f"resuming from resourceVersion {cursor.resource_version}"
                log.warning(
                    "watch of %s failed: %s; %s in %.1f s",
                    self.target,
                    describe(exc),
                    plan,
                    delay,
                )
                await self._sleep(delay)


def describe(exc: BaseException) -> str:
    """A short, token-free description of a list/watch failure."""
    if isinstance(exc, ApiException):
        return f"HTTP {exc.status}: {exc.reason}"
    if isinstance(exc, ApiStatusError):
        return str(exc)
    text = str(exc)
    name = type(exc).__name__
    return f"{name}: {text}" if text else name
