"""The daemon: watches → state → work queue → render → sink, plus health, metrics and shutdown.

With ``serve=False`` the caller serves :attr:`Daemon.server` itself (for as long as it likes: a
standby under leader election serves it before :meth:`Daemon.run` starts).

:meth:`Daemon.run` runs until ``stop`` is set (SIGTERM), then stops the watches, drains the queue
within ``daemon.drain_deadline_seconds`` and returns the exit code: 0, or 1 when a watch loop died
of an unexpected error (a bug: the daemon would otherwise silently miss changes).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import random
from collections.abc import Callable
from functools import partial

from kubernetes_asyncio.client import ApiClient
from prometheus_client import CollectorRegistry

from kg_exporter.identity import SubgraphKind, encode_segment
from kg_exporter.kinds import NODE_KIND
from kg_exporter.metrics import DaemonMetrics
from kg_exporter.queue import Backoff, KeyBackoff, Workers, WorkQueue
from kg_exporter.render.renderer import Renderer
from kg_exporter.runtime.clock import Clock, SystemClock, rfc3339
from kg_exporter.runtime.dispatch import Dispatcher
from kg_exporter.runtime.health import Health, probe_sink
from kg_exporter.runtime.keys import WorkKey, glaciation_key
from kg_exporter.runtime.reconcile import reconcile
from kg_exporter.runtime.server import HealthServer, create_app
from kg_exporter.runtime.shared import SharedWatches
from kg_exporter.runtime.watches import KindWatches
from kg_exporter.runtime.writer import Writer
from kg_exporter.settings import Settings
from kg_exporter.sink import Sink
from kg_exporter.state.nodes import NodeTable
from kg_exporter.state.workloads import WorkloadTable
from kg_exporter.watch import NODE_TARGET, ApiStatusError, Target, Watcher, targets_for
from kg_exporter.watch.discovery import Discovery

log = logging.getLogger("kg_exporter.runtime")


class Daemon:
    def __init__(
        self,
        settings: Settings,
        *,
        api: ApiClient,
        sink: Sink,
        registry: CollectorRegistry | None = None,
        clock: Clock | None = None,
        rng: Callable[[], float] = random.random,
        renderer: Renderer | None = None,
        serve: bool = True,
    ) -> None:
        self.settings = settings
        self._serve = serve
        options = settings.daemon
        clock = clock if clock is not None else SystemClock()
        self.clock = clock

        def now() -> str:
            return rfc3339(clock.now())

        self.sink = sink
        # The kinds are compiled once, here, and shared by everything that needs them.
        renderer = renderer if renderer is not None else Renderer(settings)
        self.kinds = renderer.kinds
        self.metrics = DaemonMetrics(registry if registry is not None else CollectorRegistry())
        self.health = Health(clock.monotonic)
        self.workloads = WorkloadTable(now, self.kinds, reconciled=False)
        self.nodes = NodeTable(now)
        self.queue: WorkQueue[WorkKey] = WorkQueue()
        #: Every configured target (at each kind's preferred version), nodes included.
        self.targets: list[Target] = targets_for(settings, self.kinds.specs())
        self.dispatcher = Dispatcher(
            self.workloads,
            self.nodes,
            self.queue,
            self.metrics,
            self.targets,
            glaciation=glaciation_key(settings.glaciation_node_id),
        )
        #: The watches' handler: the dispatcher, then whoever subscribed to a target (the
        #: ``glaciation`` profile), so a kind both need is watched once.
        self.shared = SharedWatches(self.dispatcher, self.targets)
        self.writer = Writer(
            renderer,
            sink,
            self.workloads,
            self.nodes,
            self.metrics,
            self.health,
            now=now,
            monotonic=clock.monotonic,
            requeue=self.queue.add,
        )
        self.retry_backoff = Backoff(options.retry_initial_seconds, options.retry_max_seconds, rng)
        self.workers: Workers[WorkKey] = Workers(
            self.queue,
            self.writer.process,
            KeyBackoff(self.retry_backoff),
            count=options.workers,
            on_retry=lambda key, reason: self.metrics.retries.labels(reason).inc(),
            rejected_cap=options.rejected_retry_max_seconds,
        )
        watch_backoff = Backoff(
            options.watch_backoff_initial_seconds, options.watch_backoff_max_seconds, rng
        )

        def watcher(
            target: Target,
            *,
            on_forbidden: Callable[[Target, ApiStatusError], None],
            on_permitted: Callable[[Target], None],
        ) -> Watcher:
            return Watcher(
                api,
                target,
                self.shared,
                backoff=watch_backoff.delay,
                page_size=options.list_page_size,
                timeout_seconds=options.watch_timeout_seconds,
                on_restart=lambda t, reason: self.metrics.watch_restarts.labels(
                    t.kind, reason
                ).inc(),
                on_forbidden=on_forbidden,
                on_permitted=on_permitted,
                forbidden_retry=options.discovery_interval_seconds,
                rng=rng,
            )

        self.watches = KindWatches(
            self.kinds.specs(),
            settings,
            self.dispatcher,
            self.metrics,
            discover=lambda: Discovery(api),
            watcher=watcher,
            fixed=[NODE_TARGET],
            backoff=watch_backoff.delay,
        )
        self.dispatcher.on_late_listing = self._late_listing
        self._helpers: set[asyncio.Task[None]] = set()
        self.server = HealthServer(create_app(self.health, self.metrics.registry), options.listen)
        self.health.on_sink_change(self._sink_changed)
        self._observe()

    def _observe(self) -> None:
        metrics, queue = self.metrics, self.queue
        metrics.watch_queue(lambda: len(queue), lambda: queue.waiting, lambda: queue.processing)
        for kind in self.kinds:
            metrics.tracked.labels(kind).set_function(partial(self._count, kind))
        metrics.tracked.labels(NODE_KIND).set_function(lambda: float(len(self.nodes)))
        metrics.ready.set_function(lambda: 1.0 if self.health.ready else 0.0)

    def _count(self, kind: str) -> float:
        return float(sum(1 for key in self.workloads if key.kind == kind))

    def _sink_changed(self, ok: bool) -> None:
        if ok:
            count = self.queue.retry_now()
            if count:
                log.info("retrying %d backing-off keys now that the sink answers", count)

    async def _after_sync(self) -> None:
        await self.dispatcher.synced.wait()
        self.health.synced = True
        # What exists now (modules, compiled templates, the initial state) lives as long as the
        # process: keep it out of the cyclic collector, whose full passes over it otherwise
        # stall every event for tens of milliseconds.
        gc.freeze()
        await self._reconcile(self.dispatcher.reconcilable(self.targets))

    async def _reconcile(self, targets: list[Target]) -> None:
        await reconcile(
            self.sink,
            self.queue,
            self.workloads,
            self.nodes,
            self.health,
            cluster=self.settings.cluster_id,
            targets=targets,
            backoff=self.retry_backoff,
        )

    def _late_listing(self, target: Target) -> None:
        """A kind listed for the first time after start-up (its CRD installed, a 403 lifted):
        what the Metadata Service holds of it is learnt as at start-up."""
        task = asyncio.create_task(self._reconcile([target]), name=f"reconcile {target}")
        self._helpers.add(task)
        task.add_done_callback(self._helpers.discard)
        task.add_done_callback(_report_crash)

    async def _probe(self) -> None:
        prefix = f"{encode_segment(self.settings.cluster_id)}:{SubgraphKind.GLACIATION_NODE.value}:"
        await probe_sink(
            self.health,
            lambda: self.sink.list(prefix),
            interval=self.settings.daemon.sink_probe_interval_seconds,
        )

    async def run(self, stop: asyncio.Event) -> int:
        """Work until ``stop`` is set; the exit code."""
        if self._serve:
            url = await self.server.start()
            log.info("serving /metrics, /healthz and /readyz on %s", url)
        log.info("watching %s (if served)", ", ".join(str(t) for t in self.targets))
        self.workers.start()
        watches = {asyncio.create_task(self.watches.run(), name="watches")}
        helpers = [
            asyncio.create_task(self._after_sync(), name="reconcile"),
            asyncio.create_task(self._probe(), name="sink probe"),
        ]
        for helper in helpers:
            helper.add_done_callback(_report_crash)
        stopping = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({*watches, stopping}, return_when=asyncio.FIRST_COMPLETED)
        code = 0
        for task in done - {stopping}:
            exc = task.exception()
            self.health.dead.append(f"{task.get_name()}: {exc!r}")
            log.error("%s died: %r; shutting down", task.get_name(), exc, exc_info=exc)
            code = 1
        log.info("stopping the watches")
        helpers.extend(self._helpers)
        for task in [*watches, *helpers, stopping]:
            task.cancel()
        await asyncio.gather(*watches, *helpers, stopping, return_exceptions=True)
        await self._drain()
        if self._serve:
            await self.server.stop()
        log.info("stopped")
        return code

    async def _drain(self) -> None:
        deadline = self.settings.daemon.drain_deadline_seconds
        pending = len(self.queue) + self.queue.waiting + self.queue.processing
        log.info("draining %d queued keys within %.1f s", pending, deadline)
        self.workers.drain()
        self.queue.retry_now()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.queue.join(), deadline)
        in_flight = self.queue.processing
        left = self.queue.shutdown()
        if left or in_flight:
            log.warning(
                "drain deadline of %.1f s passed with %d keys not written (%d being written); "
                "the next start reconciles them",
                deadline,
                len(left) + in_flight,
                in_flight,
            )
            await self.workers.stop()
        else:
            log.info("drained: every queued key is written")
            await self.workers.wait()


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("%s died: %r", task.get_name(), task.exception(), exc_info=task.exception())
