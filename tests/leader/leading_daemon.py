"""The daemon under leader election, composed from the library as the runtime will compose it
(``elector_for`` + ``run_while_leading`` around ``Daemon.run``), for the fail-over tests while
``kg-exporter run`` does not wire it yet.

``python -m tests.leader.leading_daemon --kubeconfig KC --config FILE``

Unlike the wired runtime, a standby here serves no /metrics or /healthz (the Daemon, which owns
the HTTP server, only exists while leading); the tests read leadership from the Lease.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

from prometheus_client import CollectorRegistry

from kg_exporter.leader import run_while_leading
from kg_exporter.leader.kube import elector_for
from kg_exporter.runtime import Daemon, configure_logging
from kg_exporter.settings import load_settings
from kg_exporter.sink import open_sink
from kg_exporter.watch import open_api_client


async def run(kubeconfig: Path, config: Path) -> int:
    settings = load_settings(config)
    configure_logging(settings.daemon.log_format, settings.daemon.log_level)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    api = await open_api_client(kubeconfig, pool_size=32)
    sink = open_sink(settings.sink)
    registry = CollectorRegistry()
    try:
        elector = elector_for(settings.leader, api, registry)

        async def work() -> int:
            return await Daemon(settings, api=api, sink=sink, registry=registry).run(stop)

        return await run_while_leading(elector, stop, work)
    finally:
        await sink.aclose()
        await api.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--config", type=Path, required=True)
    args = parser.parse_args()
    return asyncio.run(run(args.kubeconfig, args.config))


if __name__ == "__main__":
    sys.exit(main())
