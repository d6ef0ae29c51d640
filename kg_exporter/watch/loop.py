"""Keep one target listed and watched until cancelled.

What happens after each kind of ending, and the line logged:

- the server ended the watch (its timeout): resume from the last resourceVersion at once;
- ``410 Gone``: relist at once ("relisting deployments after 410: ..."); a relist reports the keys
  that vanished meanwhile, so their stop is not missed; repeated 410s back off;
- connection dropped or refused, timeout, API error: wait a capped, jittered, growing delay, then
  resume from the last resourceVersion, or relist when there is none ("watch of deployments
  failed: ...; resuming from resourceVersion 1234 in 0.8 s");
- ``403 Forbidden`` (RBAC grants nothing on the resource): ``on_forbidden`` once (the caller logs
  the one error naming the missing rule), then a quiet retry every ``forbidden_retry`` seconds
  until allowed (``on_permitted``);
- ``404 Not Found`` (the resource is no longer served: its CRD was deleted): :class:`NotServed`
  ends the loop; the caller finds out through discovery when it is back.

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


class NotServed(WatchError):
    """The API server answered 404 for the collection: it no longer serves the resource."""

    def __init__(self, target: Target) -> None:
        super().__init__(f"the API server no longer serves {target.plural} ({target.api_version})")
        self.target = target


class Watcher:
    """The list+watch loop of one target. ``backoff(n)`` is the wait after ``n`` consecutive
    failures; ``on_restart(target, reason)`` counts restarts (expired, dropped, timeout, error,
    forbidden)."""

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
        on_forbidden: Callable[[Target, ApiStatusError], None] | None = None,
        on_permitted: Callable[[Target], None] | None = None,
        forbidden_retry: float = 30.0,
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
        self._on_forbidden = on_forbidden
        self._on_permitted = on_permitted
        self._forbidden_retry = forbidden_retry
        #: Refused with 403 since the last successful listing.
        self.forbidden = False
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
                    if self.forbidden:
                        self.forbidden = False
                        if self._on_permitted is not None:
                            self._on_permitted(self.target)
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
            except ApiStatusError as exc:
                if exc.status == 404:
                    raise NotServed(self.target) from exc
                if exc.status != 403:
                    failures = await self._failed(exc, failures)
                    continue
                cursor.resource_version = None  # a grant may come with a different picture
                self._restart("forbidden")
                if not self.forbidden:
                    self.forbidden = True
                    if self._on_forbidden is not None:
                        self._on_forbidden(self.target, exc)
                log.debug(
                    "%s still forbidden; retrying in %.1f s", self.target, self._forbidden_retry
                )
                await self._sleep(self._forbidden_retry)
            except RETRIED as exc:
                failures = await self._failed(exc, failures)

    async def _failed(self, exc: BaseException, failures: int) -> int:
        """Log, count and wait out one failure; the consecutive failures so far."""
        cursor = self.cursor
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
        log.warning("watch of %s failed: %s; %s in %.1f s", self.target, describe(exc), plan, delay)
        await self._sleep(delay)
        return failures


def describe(exc: BaseException) -> str:
    """A short, token-free description of a list/watch failure."""
    if isinstance(exc, ApiException):
        return f"HTTP {exc.status}: {exc.reason}"
    if isinstance(exc, ApiStatusError):
        return str(exc)
    text = str(exc)
    name = type(exc).__name__
    return f"{name}: {text}" if text else name
