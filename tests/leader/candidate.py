"""A leader-election candidate process for the fail-over tests: the elector with the real
kubernetes_asyncio adapter, doing stand-in work while it leads.

``python -m tests.leader.candidate --kubeconfig KC --identity a --events FILE``

Runs its work through ``run_while_leading``, as the daemon does. While leading it lists
Deployments every 50 ms and appends to FILE (one line each, flushed): ``lead T``, ``saw NAME T``
for each Deployment it had not seen, ``beat T``; at exit ``released CODE T`` (lease given up) or
``exited CODE T``. Before all that, ``started T`` once imported, and ``observed T`` once it has
read the Lease for the first time: from then on it polls it, so a test timing a fail-over knows
the standby was watching the lease (a candidate that starts late counts the lease duration from
its first look, as it must). SIGTERM while leading: finish the current step, release the lease, exit 0 (the
daemon drains first); while standing by: stop waiting, exit 0.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from pathlib import Path
from typing import TextIO

from kubernetes_asyncio import client, config

from kg_exporter.leader import ElectionConfig, LeaderElector, LeaseRecord, run_while_leading
from kg_exporter.leader.kube import KubeLeaseApi


class ObservedLeaseApi(KubeLeaseApi):
    """Records ``observed`` after the first read of the Lease."""

    def __init__(self, api: client.ApiClient, out: TextIO) -> None:
        super().__init__(api)
        self._out: TextIO | None = out

    async def get(self, namespace: str, name: str) -> LeaseRecord | None:
        lease = await super().get(namespace, name)
        if self._out is not None:
            record(self._out, "observed")
            self._out = None
        return lease


def record(out: TextIO, *words: str) -> None:
    out.write(" ".join([*words, f"{time.time():.3f}"]) + "\n")
    out.flush()


async def work(api: client.ApiClient, out: TextIO, stop: asyncio.Event) -> None:
    record(out, "lead")
    apps, seen = client.AppsV1Api(api), set[str]()
    while not stop.is_set():
        listing = await apps.list_deployment_for_all_namespaces()
        for item in listing.items:
            if item.metadata.name not in seen:
                seen.add(item.metadata.name)
                record(out, "saw", item.metadata.name)
        record(out, "beat")
        try:
            await asyncio.wait_for(stop.wait(), 0.05)
        except TimeoutError:
            pass


async def run(args: argparse.Namespace, out: TextIO) -> int:
    api = await config.new_client_from_config(config_file=str(args.kubeconfig))
    elector = LeaderElector(
        ElectionConfig(
            "kg-exporter",
            "default",
            args.identity,
            lease_duration_seconds=args.lease_duration,
            renew_deadline_seconds=args.renew_deadline,
            retry_period_seconds=args.retry_period,
        ),
        ObservedLeaseApi(api, out),
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)

    async def lead() -> int:
        await work(api, out, stop)
        return 0

    async with api:
        code = await run_while_leading(elector, stop, lead)
    record(out, "released" if elector.observed_holder == "" else "exited", str(code))
    return code


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--identity", required=True)
    parser.add_argument("--events", type=Path, required=True)
    parser.add_argument("--lease-duration", type=int, default=2)
    parser.add_argument("--renew-deadline", type=float, default=1.5)
    parser.add_argument("--retry-period", type=float, default=0.2)
    args = parser.parse_args()
    with args.events.open("a", encoding="utf-8") as out:
        record(out, "started")
        return asyncio.run(run(args, out))


if __name__ == "__main__":
    sys.exit(main())
