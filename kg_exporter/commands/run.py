"""`kg-exporter run`: the daemon until SIGTERM/SIGINT; exit 0 after a clean drain.

The HTTP server runs for the whole life of the process. With leader election on
(``leader.enabled``), the replica stands by — alive, ready, exporting ``kg_exporter_leader 0`` —
until it holds the lease, then runs the daemon; it releases the lease after draining on SIGTERM,
and exits 1 if it loses the lease (Kubernetes restarts it as a fresh standby).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

from kubernetes_asyncio.client import ApiClient
from prometheus_client import CollectorRegistry

from kg_exporter.glaciation.profile import GlaciationProfile, profile_targets
from kg_exporter.leader import run_while_leading
from kg_exporter.leader.kube import elector_for
from kg_exporter.render.renderer import Renderer
from kg_exporter.runtime import Daemon, configure_logging
from kg_exporter.settings import Settings
from kg_exporter.sink import open_sink
from kg_exporter.watch import open_api_client, targets_for

log = logging.getLogger("kg_exporter.runtime")


def run_command(settings: Settings, *, kubeconfig: Path | None = None) -> int:
    """Run the daemon; the exit code (see :class:`~kg_exporter.runtime.Daemon`)."""
    configure_logging(settings.daemon.log_format, settings.daemon.log_level)
    return asyncio.run(run_daemon(settings, kubeconfig=kubeconfig))


async def run_daemon(settings: Settings, *, kubeconfig: Path | None = None) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal(signum: signal.Signals) -> None:
        if not stop.is_set():
            log.info("%s received: stopping", signum.name)
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)
    # Every watch holds a connection; lists, the lease and the odd retry need a few more.
    renderer = Renderer(settings)  # compiles the kinds once; the daemon shares them
    watches = len(targets_for(settings, renderer.kinds.specs()))
    if settings.glaciation.enabled:
        watches += len(profile_targets(settings))
    api = await open_api_client(kubeconfig, pool_size=watches + 16)
    try:
        sink = open_sink(settings.sink)
        try:
            registry = CollectorRegistry()
            daemon = Daemon(
                settings, api=api, sink=sink, registry=registry, renderer=renderer, serve=False
            )
            health = daemon.health
            work = partial(daemon.run, stop)
            if settings.glaciation.enabled:
                # Built before any lease is held, so a bad measurement configuration is an error
                # at start (exit 2), not when a standby takes over.
                profile = profile_for(settings, daemon, api, registry)
                work = partial(run_with_profile, profile, daemon, stop)

            def leading(now: bool) -> None:
                health.standby = not now

            elector = elector_for(
                settings.leader,
                api,
                registry,
                on_started_leading=lambda: leading(True),
                on_stopped_leading=lambda: leading(False),
            )
            health.standby = elector is not None
            url = await daemon.server.start()
            log.info("serving /metrics, /healthz and /readyz on %s", url)
            try:
                return await run_while_leading(elector, stop, work)
            finally:
                await daemon.server.stop()
        finally:
            await sink.aclose()
    finally:
        await api.close()


def profile_for(
    settings: Settings, daemon: Daemon, api: ApiClient, registry: CollectorRegistry
) -> GlaciationProfile:
    """The ``glaciation`` profile. Alone (``glaciation.subgraphs: false``) readiness follows its
    snapshot writes, as it follows the sink's writes otherwise. Beside the design's daemon it is
    fed by the daemon's watches of the kinds both need (one list+watch per kind)."""
    alone = not settings.glaciation.subgraphs
    health = daemon.health

    def on_result(error: Exception | None) -> None:
        if not alone:
            return
        health.synced = True
        if error is None:
            health.sink_succeeded()
        else:
            health.sink_failed(str(error))

    return GlaciationProfile(
        settings,
        api=api,
        registry=registry,
        on_result=on_result,
        subscribe=None if alone else daemon.shared.subscribe,
    )


async def run_with_profile(profile: GlaciationProfile, daemon: Daemon, stop: asyncio.Event) -> int:
    """The profile beside the design's daemon, or alone; the worse of their exit codes. Beside
    it, the first to end stops the other: the profile is fed by the daemon's watches, so without
    them its snapshots would go stale while it looked alive (the exit code then says why)."""
    if not profile.settings.subgraphs:
        return await profile.run(stop)
    either = asyncio.Event()

    async def until_either(run: Callable[[asyncio.Event], Awaitable[int]]) -> int:
        try:
            return await run(either)
        finally:
            either.set()

    forward = asyncio.create_task(stop.wait())
    forward.add_done_callback(lambda _: either.set())
    try:
        codes = await asyncio.gather(until_either(daemon.run), until_either(profile.run))
    finally:
        forward.cancel()
    return max(codes)
