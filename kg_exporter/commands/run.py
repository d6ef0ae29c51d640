"""`kg-exporter run`: the daemon until SIGTERM/SIGINT; exit 0 after a clean drain."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

from prometheus_client import CollectorRegistry

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
    # Every watch holds a connection; lists and the odd retry need a few more.
    api = await open_api_client(kubeconfig, pool_size=len(targets_for(settings)) + 16)
    try:
        sink = open_sink(settings.sink)
        try:
            daemon = Daemon(settings, api=api, sink=sink, registry=CollectorRegistry())
            return await daemon.run(stop)
        finally:
            await sink.aclose()
    finally:
        await api.close()
