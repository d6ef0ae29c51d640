"""The ``glaciation`` profile wired together: its watches, inventory, sampler, renderer, writer and
loop, run beside the design's daemon (or alone) until stopped.

It needs Nodes, Pods and the workload kinds, whole objects (the design's state keeps only what
start/stop needs; the snapshot needs pods, ReplicaSets and amounts). Beside the design's daemon it
*subscribes* its inventory to the daemon's watches of the targets both need (``subscribe``, see
:mod:`kg_exporter.runtime.shared`): one list+watch per kind, not one per output. It watches the
rest itself (Pods, ReplicaSets, a kind the design is not configured for, every workload kind when
the design's watches carry a label selector), and everything when it runs alone. The design's
start/stop handling, queue and sink are untouched by it.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable

import aiohttp
from kubernetes_asyncio.client import ApiClient
from prometheus_client import CollectorRegistry

from kg_exporter.errors import KgExporterError, SinkError, WatchError
from kg_exporter.glaciation.config import GlaciationSettings
from kg_exporter.glaciation.inventory import Inventory
from kg_exporter.glaciation.measurements import load_measurements
from kg_exporter.glaciation.metrics import GlaciationMetrics
from kg_exporter.glaciation.project import UNKNOWN_CLUSTER, cluster_name_of
from kg_exporter.glaciation.render import SnapshotRenderer
from kg_exporter.glaciation.sampler import Sampler
from kg_exporter.glaciation.snapshotter import Snapshotter, end_time
from kg_exporter.glaciation.writer import SnapshotWriter
from kg_exporter.queue import Backoff as RetryBackoff
from kg_exporter.read.prometheus import PrometheusClient
from kg_exporter.settings import Settings, SinkSettings
from kg_exporter.sink.glaciation_api import open_glaciation_api
from kg_exporter.watch import Target, Watcher
from kg_exporter.watch.stream import list_page
from kg_exporter.watch.targets import Handler

log = logging.getLogger("kg_exporter.glaciation")

#: kind → (API group, resource) of the workload kinds ``glaciation.workload_kinds`` may name.
_WORKLOADS = {
    "Deployment": ("apps", "deployments"),
    "ReplicaSet": ("apps", "replicasets"),
    "StatefulSet": ("apps", "statefulsets"),
    "DaemonSet": ("apps", "daemonsets"),
    "Job": ("batch", "jobs"),
}


def profile_targets(settings: Settings) -> list[Target]:
    """Nodes, then pods and the configured workload kinds in each of ``namespaces`` (or all).
    ``label_selector`` does not apply: the snapshot shows the whole cluster, as the published
    exporter's does (a pod's node and a node's pods must both be in it)."""
    namespaces: tuple[str | None, ...] = settings.namespaces or (None,)
    kinds = [("Pod", "", "pods")] + [
        (kind, *_WORKLOADS[kind]) for kind in settings.glaciation.workload_kinds
    ]
    targets = [
        Target(kind, group, "v1", plural, ns) for kind, group, plural in kinds for ns in namespaces
    ]
    return [Target("Node", "", "v1", "nodes"), *targets]


class GlaciationProfile:
    def __init__(
        self,
        settings: Settings,
        *,
        api: ApiClient,
        registry: CollectorRegistry,
        clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
        on_result: Callable[[KgExporterError | None], None] = lambda error: None,
        subscribe: Callable[[Target, Handler], bool] | None = None,
    ) -> None:
        """``subscribe(target, handler)``: have the daemon's watch of ``target`` feed ``handler``
        too, False when it has none (``Daemon.shared.subscribe``); None: every watch is ours."""
        profile: GlaciationSettings = settings.glaciation
        self.settings = profile
        self._api = api
        self.metrics = GlaciationMetrics(registry)
        self.targets = profile_targets(settings)
        self._clock = clock
        self.inventory = Inventory(
            self.targets, self.metrics, now=self._end_time, on_change=self._changed
        )
        config = load_measurements(profile.measurements_file)
        prometheus_url = profile.prometheus_url or settings.prometheus_url
        self._prometheus = PrometheusClient(
            str(prometheus_url), timeout=profile.query_timeout_seconds
        )
        sampler = Sampler(self._prometheus, config, self.metrics)
        sink = SinkSettings(
            kind="glaciation",
            url=profile.url,
            timeout_seconds=profile.timeout_seconds,
            max_attempts=profile.max_attempts,
        )
        self.writer = SnapshotWriter(
            open_glaciation_api(sink, rng=rng, clock=clock),
            self.metrics,
            prune_age_seconds=profile.prune_age_seconds if profile.prune else None,
            clock=clock,
            writer=settings.cluster_id,
        )
        self.snapshotter = Snapshotter(
            self.inventory,
            SnapshotRenderer(profile, settings.template_dir),
            sampler,
            self.writer,
            self.metrics,
            interval_seconds=profile.interval_seconds,
            change_delay_seconds=profile.change_delay_seconds,
            clock=clock,
            on_result=on_result,
        )
        options = settings.daemon
        backoff = RetryBackoff(
            options.watch_backoff_initial_seconds, options.watch_backoff_max_seconds, rng
        )
        #: Targets the daemon's watches feed the inventory; the rest are watched here.
        self.shared = [
            t for t in self.targets if subscribe is not None and subscribe(t, self.inventory)
        ]
        self.watchers = [
            Watcher(
                api,
                target,
                self.inventory,
                backoff=backoff.delay,
                page_size=options.list_page_size,
                timeout_seconds=options.watch_timeout_seconds,
                rng=rng,
            )
            for target in self.targets
            if target not in self.shared
        ]

    def _end_time(self) -> str:
        return end_time(self._clock())

    def _changed(self) -> None:
        self.snapshotter.changed()

    async def run(self, stop: asyncio.Event) -> int:
        """Watch and snapshot until ``stop`` is set; 1 when a watch loop died (a bug), else 0."""
        own = ", ".join(str(w.target) for w in self.watchers) or "nothing itself"
        shared = ", ".join(map(str, self.shared))
        log.info(
            "glaciation profile: snapshots to %s every %.0f s; watching %s%s",
            self.settings.url,
            self.settings.interval_seconds,
            own,
            f"; from the daemon's watches: {shared}" if shared else "",
        )
        self.inventory.state.cluster_name = self.settings.cluster_name or await self._cluster_name()
        watches = {
            asyncio.create_task(w.run(), name=f"glaciation watch {w.target}") for w in self.watchers
        }
        loop = asyncio.create_task(self._snapshots(), name="snapshots")
        stopping = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait(
            {*watches, loop, stopping}, return_when=asyncio.FIRST_COMPLETED
        )
        code = 0
        for task in done - {stopping}:
            log.error("%s died: %r", task.get_name(), task.exception(), exc_info=task.exception())
            code = 1
        for task in [*watches, loop, stopping]:
            task.cancel()
        await asyncio.gather(*watches, loop, stopping, return_exceptions=True)
        await self.writer.aclose()
        await self._prometheus.aclose()
        return code

    async def _snapshots(self) -> None:
        await self.inventory.listed_all.wait()
        await self._close_ended_while_away()
        await self.snapshotter.run(lambda: True)

    async def _close_ended_while_away(self) -> None:
        """Once the whole cluster is listed: what this cluster's newest snapshot in the service
        shows live and the cluster no longer has ended while no exporter watched; the first
        snapshot closes it."""
        base = self.settings.resource_base
        try:
            previous = await self.writer.live_resources()
        except SinkError as exc:
            log.warning(
                "cannot read the newest snapshot (%s); what ended meanwhile stays open", exc
            )
            return
        ids = {iri[len(base) :]: d for iri, d in previous.items() if iri.startswith(base)}
        count = self.inventory.close_missing(ids, self._end_time())
        if count:
            log.info("%d nodes, pods or containers ended while no exporter watched", count)

    async def _cluster_name(self) -> str:
        """``clusterName`` of kube-system/kubeadm-config, as the published exporter names the
        cluster; ``Unknown`` when it cannot be read (no kubeadm, no permission)."""
        target = Target("ConfigMap", "", "v1", "configmaps", "kube-system")
        token = None
        try:
            while True:
                page = await list_page(self._api, target, limit=100, continue_token=token)
                for obj in page.items:
                    if obj.get("metadata", {}).get("name") == "kubeadm-config":
                        return cluster_name_of(obj)
                token = page.continue_token
                if token is None:
                    break
        except (WatchError, aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.info(
                "cannot read kube-system/kubeadm-config (%s); the cluster is named %s",
                exc,
                UNKNOWN_CLUSTER,
            )
        return UNKNOWN_CLUSTER
