"""run_while_leading: what the daemon's work sees on stop, on winning and on losing the lease."""

from __future__ import annotations

import asyncio

from kubernetes_asyncio.client import ApiClient
from prometheus_client import CollectorRegistry

from kg_exporter.leader import EXIT_LEADERSHIP_LOST, LEADER_METRIC, run_while_leading
from kg_exporter.leader.kube import elector_for
from kg_exporter.settings import LeaderSettings
from tests.leader.fakes import MemoryLeases
from tests.leader.test_elector import KEY, candidate


async def test_without_an_elector_the_work_just_runs() -> None:
    async def work() -> int:
        return 7

    assert await run_while_leading(None, asyncio.Event(), work) == 7


async def test_stop_while_standing_by_returns_0_without_working_or_writing() -> None:
    api = MemoryLeases()
    await candidate("a", api).acquire()
    writes = len(api.writes)
    stop, worked = asyncio.Event(), False

    async def work() -> int:
        nonlocal worked
        worked = True
        return 0

    running = asyncio.create_task(run_while_leading(candidate("b", api), stop, work))
    for _ in range(10):
        await asyncio.sleep(0)
    stop.set()
    assert await running == 0
    assert not worked and len(api.writes) == writes


async def test_stop_while_leading_lets_the_work_drain_then_releases() -> None:
    api, stop, leading = MemoryLeases(), asyncio.Event(), asyncio.Event()
    elector = candidate("a", api, on_started_leading=leading.set)
    drained_while_leading = False

    async def work() -> int:
        nonlocal drained_while_leading
        await stop.wait()
        await asyncio.sleep(0)  # the drain
        drained_while_leading = elector.is_leader and api.leases[KEY].holder_identity == "a"
        return 0

    running = asyncio.create_task(run_while_leading(elector, stop, work))
    await leading.wait()
    stop.set()
    assert await running == 0
    assert drained_while_leading and api.leases[KEY].holder_identity == ""


async def test_losing_leadership_cancels_the_work_and_asks_for_a_restart() -> None:
    api = MemoryLeases()
    cancelled = False

    async def work() -> int:
        nonlocal cancelled
        api.fail = True  # the API server becomes unreachable
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled = True
            raise
        return 0

    code = await run_while_leading(candidate("a", api), asyncio.Event(), work)
    assert code == EXIT_LEADERSHIP_LOST and cancelled


async def test_the_gauge_reads_1_for_a_single_replica_without_election() -> None:
    registry = CollectorRegistry()
    async with ApiClient() as api:
        assert elector_for(LeaderSettings(), api, registry) is None
    assert registry.get_sample_value(LEADER_METRIC) == 1.0


async def test_with_election_the_gauge_starts_at_0() -> None:
    registry = CollectorRegistry()
    settings = LeaderSettings(enabled=True, namespace="ops", identity="a")
    async with ApiClient() as api:
        elector = elector_for(settings, api, registry)
    assert elector is not None and elector.identity == "a"
    assert registry.get_sample_value(LEADER_METRIC) == 0.0
