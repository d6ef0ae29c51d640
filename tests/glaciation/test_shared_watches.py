"""With both outputs on (the design's subgraphs and the GLACIATION snapshot), every kind both need
is listed and watched once, against FakeKube's request counts: the profile's inventory is fed by
the daemon's watches, and watches itself only what the design does not (Pods, ReplicaSets).

In process, as ``kg-exporter run`` wires it (:func:`~kg_exporter.commands.run.profile_for`,
:func:`~kg_exporter.commands.run.run_with_profile`), with the GLACIATION Metadata Service stand-in
of ``tests/sink`` on a real socket and a Prometheus that is down (measurements are left out; the
snapshot still goes out).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from kubernetes_asyncio.client import ApiClient
from prometheus_client import CollectorRegistry

from kg_exporter.commands.run import profile_for, run_with_profile
from kg_exporter.glaciation.profile import GlaciationProfile
from kg_exporter.runtime import Daemon
from kg_exporter.settings import Settings
from tests.daemon.fakes import MemorySink
from tests.daemon.harness import daemon_settings, eventually
from tests.daemon.objects import deployment, node
from tests.fakekube import FakeKube
from tests.sink.glaciation_server import create_app
from tests.support.processes import free_port

#: Collections both outputs need (the profile's defaults and the bundled kinds).
SHARED = (
    "/api/v1/nodes",
    "/apis/apps/v1/deployments",
    "/apis/apps/v1/statefulsets",
    "/apis/apps/v1/daemonsets",
    "/apis/batch/v1/jobs",
)
#: Collections only the snapshot needs.
PROFILE_ONLY = ("/api/v1/pods", "/apis/apps/v1/replicasets")


@pytest.fixture
async def glaciation_url() -> AsyncIterator[str]:
    server = TestServer(create_app(), host="127.0.0.1", port=0)
    await server.start_server()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        await server.close()


def both_on(url: str, *, subgraphs: bool = True, **overrides: Any) -> Settings:
    glaciation = {
        "enabled": True,
        "subgraphs": subgraphs,
        "url": url,
        "interval_seconds": 0.5,
        "change_delay_seconds": 0.1,
        "cluster_name": "shared",
        "prometheus_url": f"http://127.0.0.1:{free_port()}",  # down
        "query_timeout_seconds": 2.0,
    }
    return daemon_settings(glaciation=glaciation, **overrides)


async def test_with_both_outputs_each_kind_is_listed_and_watched_once(
    fake_kube: FakeKube, api: ApiClient, glaciation_url: str
) -> None:
    fake_kube.create(node("n1"))
    fake_kube.create(deployment("web"))
    settings = both_on(glaciation_url)
    registry = CollectorRegistry()
    daemon = Daemon(settings, api=api, sink=MemorySink(), registry=registry)
    profile = profile_for(settings, daemon, api, registry)
    assert {str(t) for t in profile.shared} == {
        "nodes",
        "deployments",
        "statefulsets",
        "daemonsets",
        "jobs",
    }
    assert {str(w.target) for w in profile.watchers} == {"pods", "replicasets"}
    stop = asyncio.Event()
    task = asyncio.create_task(run_with_profile(profile, daemon, stop))
    try:
        await eventually(lambda: daemon.health.synced, what="the design's first sync")
        await eventually(lambda: profile.snapshotter.written >= 1, what="a snapshot written")
        for path in SHARED + PROFILE_ONLY:
            counts = (fake_kube.request_count("list", path), fake_kube.request_count("watch", path))
            assert counts == (1, 1), f"{path}: {counts[0]} lists, {counts[1]} watches"

        # Both consumers see what the one watch sees from then on.
        fake_kube.create(node("n2"))
        await eventually(lambda: "n2" in profile.inventory.state.nodes, what="n2 in the snapshot")
        await eventually(lambda: len(daemon.nodes) == 2, what="n2 in the design's state")
        fake_kube.delete("Node", None, "n1")
        await eventually(lambda: "n1" not in profile.inventory.state.nodes, what="n1 gone")
        assert any(
            e["description"] == "KubernetesWorkerNode" for e in profile.inventory.ended.values()
        )
        assert fake_kube.request_count("list", "/api/v1/nodes") == 1
    finally:
        stop.set()
        code = await asyncio.wait_for(task, 60)
    assert code == 0


async def test_alone_or_behind_a_label_selector_the_profile_watches_for_itself(
    api: ApiClient, glaciation_url: str
) -> None:
    def profile(settings: Settings) -> GlaciationProfile:
        registry = CollectorRegistry()
        daemon = Daemon(settings, api=api, sink=MemorySink(), registry=registry)
        return profile_for(settings, daemon, api, registry)

    alone = profile(both_on(glaciation_url, subgraphs=False))
    assert alone.shared == []
    assert len(alone.watchers) == 7, "nodes, pods and the five workload kinds"
    # The design's watches see only the selected workloads; the snapshot needs them all.
    selected = profile(both_on(glaciation_url, label_selector="team=a"))
    assert [str(t) for t in selected.shared] == ["nodes"]
    assert len(selected.watchers) == 6


class _Part:
    """Stands for the daemon or the profile in :func:`run_with_profile`: ``dies`` ends its run at
    once with exit code 1 (a watch loop died), else it runs until its stop is set."""

    def __init__(self, *, dies: bool = False) -> None:
        self.settings = SimpleNamespace(subgraphs=True)
        self.dies = dies
        self.stopped = False

    async def run(self, stop: asyncio.Event) -> int:
        if self.dies:
            return 1
        await stop.wait()
        self.stopped = True
        return 0


@pytest.mark.parametrize("dying", ["daemon", "profile"])
async def test_beside_the_daemon_the_first_to_end_stops_the_other(dying: str) -> None:
    """The profile is fed by the daemon's watches: a daemon that died must not leave it writing
    stale snapshots while the process looks alive (and the other way round, as before: exit 1)."""
    daemon, profile = _Part(dies=dying == "daemon"), _Part(dies=dying == "profile")
    stop = asyncio.Event()
    code = await asyncio.wait_for(run_with_profile(profile, daemon, stop), 30)  # type: ignore[arg-type]
    assert code == 1
    assert (daemon.stopped, profile.stopped) == (dying == "profile", dying == "daemon")
    assert not stop.is_set(), "the process's own stop is left alone"
