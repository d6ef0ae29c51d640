"""Which configured kinds are watched, and at which version: resolved through API discovery.

- At start-up discovery resolves every kind (retried with the watch backoff until the API server
  answers). A served kind gets its watches at the version discovery picked from its entry's
  ``versions``. A kind not served (its CRD is not installed) is reported by one log line and
  ``kg_exporter_kind_served{kind} 0``, and does not hold readiness.
- While some kind is not watched, discovery checks again every ``discovery_interval_seconds``, and
  at once when a watch finds its resource gone (404): a kind that became served is watched from
  then on, without a restart; one that went away has its workloads stopped.
- A 403 on a kind is one error naming the missing RBAC rule and ``kg_exporter_kind_forbidden 1``;
  its watch retries quietly at the same interval, the other kinds keep working, and readiness does
  not wait for it.
- Any other way a watch loop ends is a bug: it propagates, and the daemon shuts down.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from kg_exporter.metrics import DaemonMetrics
from kg_exporter.runtime.dispatch import Dispatcher
from kg_exporter.settings import Settings
from kg_exporter.watch import ApiStatusError, Target, Watcher
from kg_exporter.watch.discovery import Discovery, Served
from kg_exporter.watch.entry import KindEntry, qualified
from kg_exporter.watch.loop import RETRIED, NotServed, describe
from kg_exporter.watch.rbac import rule_text
from kg_exporter.watch.targets import targets_of

log = logging.getLogger("kg_exporter.runtime")


class WatcherFactory(Protocol):
    def __call__(
        self,
        target: Target,
        *,
        on_forbidden: Callable[[Target, ApiStatusError], None],
        on_permitted: Callable[[Target], None],
    ) -> Watcher: ...


class KindWatches:
    """Runs one :class:`Watcher` per target of every served kind, plus ``fixed`` targets (nodes)
    that need no discovery, until cancelled."""

    def __init__(
        self,
        entries: Sequence[KindEntry],
        settings: Settings,
        dispatcher: Dispatcher,
        metrics: DaemonMetrics,
        *,
        discover: Callable[[], Discovery],
        watcher: WatcherFactory,
        fixed: Sequence[Target] = (),
        backoff: Callable[[int], float],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._entries = {entry.kind: entry for entry in entries}
        self._settings = settings
        self._dispatcher = dispatcher
        self._metrics = metrics
        self._discover = discover
        self._watcher = watcher
        self._fixed = fixed
        self._backoff = backoff
        self._sleep = sleep
        self._interval = settings.daemon.discovery_interval_seconds
        self._tasks: dict[asyncio.Task[None], Target] = {}
        #: Kind → the version watched; kinds not in it are checked at every interval.
        self.watched: dict[str, str] = {}
        #: Kinds whose entry disagrees with the server on being namespaced: not watched.
        self._misfits: set[str] = set()
        self._forbidden: set[Target] = set()
        #: Kind → its targets, for kinds whose watch found the resource gone (404) until
        #: discovery says whether it moved to another version or went away.
        self._lost: dict[str, list[Target]] = {}
        self._discovery_failing = False
        for kind in self._entries:
            metrics.kind_served.labels(kind).set(0)
            metrics.kind_forbidden.labels(kind).set(0)

    @property
    def targets(self) -> list[Target]:
        """What is being watched now."""
        return list(self._tasks.values())

    async def run(self) -> None:
        # Each run starts from nothing (a daemon run again after losing and regaining the lease).
        self.watched.clear()
        self._misfits.clear()
        self._forbidden.clear()
        self._lost.clear()
        try:
            for target in self._fixed:
                self._start(target)
            await self._check(first=True)
            while True:
                await self._wait()
                await self._check(first=False)
        finally:
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    # -- discovery -------------------------------------------------------------------------

    async def _check(self, *, first: bool) -> None:
        wanted = [
            e
            for kind, e in self._entries.items()
            if kind not in self.watched.keys() | self._misfits
        ]
        if not wanted:
            return
        failures = 0
        while True:
            try:
                resolved = await self._discover().resolve(wanted)
                break
            except RETRIED as exc:
                if not first:
                    # Keep what is watched; the next interval tries again.
                    if not self._discovery_failing:
                        log.warning(
                            "API discovery failed: %s; checking again in %g s",
                            describe(exc),
                            self._interval,
                        )
                    self._discovery_failing = True
                    return
                failures += 1
                delay = self._backoff(failures)
                log.warning("API discovery failed: %s; retrying in %.1f s", describe(exc), delay)
                await self._sleep(delay)
        self._discovery_failing = False
        for entry in wanted:
            self._resolved(entry, resolved[entry.kind], first=first)

    def _resolved(self, entry: KindEntry, served: Served | None, *, first: bool) -> None:
        lost = self._lost.pop(entry.kind, [])
        if served is None:
            if lost:
                for target in lost:
                    self._dispatcher.gone(target)
                log.info(
                    "%s (%s) is no longer served: its workloads are stopped; checking again "
                    "every %g s",
                    entry.kind,
                    qualified(entry),
                    self._interval,
                )
            elif first:
                log.info(
                    "%s (%s, versions %s) is not served by the API server (its CRD is not "
                    "installed?): not watched; checking again every %g s",
                    entry.kind,
                    qualified(entry),
                    ", ".join(entry.versions),
                    self._interval,
                )
                for target in self._configured(entry):
                    self._dispatcher.release(target, known_empty=True)
            return
        if served.namespaced != entry.namespaced:
            self._misfits.add(entry.kind)
            log.error(
                "%s: the kind entry says %s, the API server says %s: not watched; fix the entry",
                entry.kind,
                _scope(entry.namespaced),
                _scope(served.namespaced),
            )
            for target in self._configured(entry):
                self._dispatcher.release(target, known_empty=False)
            return
        self.watched[entry.kind] = served.version
        self._metrics.kind_served.labels(entry.kind).set(1)
        if not first:
            log.info(
                "%s is served%s (%s/%s): watching it",
                entry.kind,
                " at another version" if lost else " now",
                entry.group,
                served.version,
            )
        for target in targets_of(entry, served.version, self._settings):
            self._start(target)

    def _configured(self, entry: KindEntry) -> list[Target]:
        return targets_of(entry, entry.versions[0], self._settings)

    # -- watches ---------------------------------------------------------------------------

    def _start(self, target: Target) -> None:
        watcher = self._watcher(
            target, on_forbidden=self._on_forbidden, on_permitted=self._on_permitted
        )
        task = asyncio.create_task(watcher.run(), name=f"watch {target}")
        self._tasks[task] = target

    async def _wait(self) -> None:
        """Until a watch loop ends, or the interval passes while some kind is not watched."""
        unwatched = set(self._entries) - set(self.watched) - self._misfits
        if self._lost and not self._discovery_failing:
            return  # check at once where a lost kind went
        timeout = self._interval if unwatched or self._discovery_failing else None
        if not self._tasks:
            await self._sleep(timeout if timeout is not None else 3600.0)
            return
        done, _ = await asyncio.wait(
            self._tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        for task in done:
            await self._ended(task, self._tasks.pop(task))

    async def _ended(self, task: asyncio.Task[None], target: Target) -> None:
        exc = task.exception()
        if not isinstance(exc, NotServed) or target.kind not in self.watched:
            log.error("the watch of %s ended: %r", target, exc)
            raise exc if exc is not None else RuntimeError(f"the watch of {target} returned")
        kind = target.kind
        del self.watched[kind]
        self._metrics.kind_served.labels(kind).set(0)
        self._metrics.kind_forbidden.labels(kind).set(0)
        siblings = {t: s for t, s in self._tasks.items() if s.kind == kind}
        for sibling in siblings:
            sibling.cancel()
            del self._tasks[sibling]
        await asyncio.gather(*siblings, return_exceptions=True)
        self._lost[kind] = [target, *siblings.values()]
        self._forbidden -= set(self._lost[kind])
        log.info("%s: %s; checking API discovery", kind, exc)

    def _on_forbidden(self, target: Target, exc: ApiStatusError) -> None:
        self._forbidden.add(target)
        self._metrics.kind_forbidden.labels(target.kind).set(1)
        where = f"a Role in namespace {target.namespace}" if target.namespace else "its ClusterRole"
        log.error(
            "cannot read %s: %s. The daemon needs, in %s: %s (`kg-exporter rbac` prints every "
            "rule it needs). The other kinds are watched; /readyz does not wait for this one; "
            "retrying every %g s",
            target,
            exc,
            where,
            rule_text(target.group, target.plural),
            self._interval,
        )
        self._dispatcher.release(target, known_empty=False)

    def _on_permitted(self, target: Target) -> None:
        self._forbidden.discard(target)
        if not any(t.kind == target.kind for t in self._forbidden):
            self._metrics.kind_forbidden.labels(target.kind).set(0)
        log.info("%s can be read now", target)


def _scope(namespaced: bool) -> str:
    return "namespaced" if namespaced else "cluster-scoped"
