"""The election rules, on an in-memory lease API and virtual clocks (one per candidate, as each
pod has its own): who may take the lease and when, and what the leader does when it cannot renew."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from kg_exporter.errors import SettingsError
from kg_exporter.leader import (
    Attempt,
    ElectionConfig,
    LeaderElector,
    LeadershipLost,
    election_config,
)
from kg_exporter.settings import LeaderSettings
from tests.leader.fakes import Gauge, MemoryLeases, VirtualClock

KEY = ("ops", "kg-exporter")


def candidate(
    identity: str, api: MemoryLeases, clock: VirtualClock | None = None, **kwargs: object
) -> LeaderElector:
    config = ElectionConfig(
        "kg-exporter",
        "ops",
        identity,
        lease_duration_seconds=15,
        renew_deadline_seconds=10,
        retry_period_seconds=1,
    )
    return LeaderElector(config, api, clock=clock or VirtualClock(), rng=lambda: 0.5, **kwargs)  # type: ignore[arg-type]


async def test_the_first_candidate_creates_the_lease_and_leads() -> None:
    api = MemoryLeases()
    assert await candidate("a", api).try_acquire_or_renew() is Attempt.HELD
    lease = api.leases[KEY]
    assert (lease.holder_identity, lease.lease_duration_seconds, lease.lease_transitions) == (
        "a",
        15,
        0,
    )
    assert lease.acquire_time == lease.renew_time is not None


async def test_a_standby_waits_a_full_lease_duration_after_it_saw_the_last_change() -> None:
    api, clock_b = MemoryLeases(), VirtualClock()
    a, b = candidate("a", api), candidate("b", api, clock_b)
    await a.try_acquire_or_renew()
    assert await b.try_acquire_or_renew() is Attempt.HELD_BY_OTHER
    clock_b.advance(14.9)
    assert await b.try_acquire_or_renew() is Attempt.HELD_BY_OTHER
    clock_b.advance(0.1)
    assert await b.try_acquire_or_renew() is Attempt.HELD
    lease = api.leases[KEY]
    assert (lease.holder_identity, lease.lease_transitions) == ("b", 1)
    assert lease.acquire_time == lease.renew_time


async def test_renewals_keep_a_standby_waiting() -> None:
    api, clock_a, clock_b = MemoryLeases(), VirtualClock(), VirtualClock()
    a, b = candidate("a", api, clock_a), candidate("b", api, clock_b)
    await a.try_acquire_or_renew()
    first = api.leases[KEY]
    for _ in range(60):
        clock_a.advance(1)
        clock_b.advance(1)
        assert await a.try_acquire_or_renew() is Attempt.HELD
        assert await b.try_acquire_or_renew() is Attempt.HELD_BY_OTHER
    lease = api.leases[KEY]
    assert lease.acquire_time == first.acquire_time  # renewals keep the acquire time
    assert lease.renew_time is not None and first.renew_time is not None
    assert lease.renew_time - first.renew_time == timedelta(seconds=60)


async def test_a_wall_clock_far_ahead_does_not_make_a_fresh_lease_look_expired() -> None:
    api, clock_b = MemoryLeases(), VirtualClock()
    clock_b.start += timedelta(days=365)  # b's node thinks it is next year
    a, b = candidate("a", api), candidate("b", api, clock_b)
    await a.try_acquire_or_renew()
    assert await b.try_acquire_or_renew() is Attempt.HELD_BY_OTHER


async def test_a_released_lease_is_taken_at_once() -> None:
    api = MemoryLeases()
    a, b = candidate("a", api), candidate("b", api)
    await a.acquire()
    assert await b.try_acquire_or_renew() is Attempt.HELD_BY_OTHER
    assert await a.release()
    assert api.leases[KEY].holder_identity == ""
    assert not a.is_leader
    assert await b.try_acquire_or_renew() is Attempt.HELD
    assert api.leases[KEY].lease_transitions == 1


async def test_of_candidates_racing_for_an_expired_lease_exactly_one_wins() -> None:
    api = MemoryLeases()
    await candidate("a", api).try_acquire_or_renew()
    clocks = [VirtualClock() for _ in range(3)]
    others = [candidate(name, api, clock) for name, clock in zip("bcd", clocks, strict=True)]
    for other in others:
        await other.try_acquire_or_renew()
    for clock in clocks:
        clock.advance(15)
    results = await asyncio.gather(*(other.try_acquire_or_renew() for other in others))
    assert sorted(r.value for r in results) == sorted(["held", "failed", "failed"])
    assert api.leases[KEY].holder_identity in {"b", "c", "d"}


async def test_a_leader_that_cannot_renew_stops_before_a_standby_may_start() -> None:
    api, clock_a, clock_b = MemoryLeases(), VirtualClock(), VirtualClock()
    gauge = Gauge()
    a, b = candidate("a", api, clock_a, gauge=gauge), candidate("b", api, clock_b)
    await a.acquire()
    assert await b.try_acquire_or_renew() is Attempt.HELD_BY_OTHER  # b saw the last renewal
    api.fail = True
    began = clock_a.monotonic()
    await a.renew_until_lost()
    gave_up_after = clock_a.monotonic() - began
    assert not a.is_leader and gauge.values == [1.0, 0.0]
    assert 10 <= gave_up_after < 15  # renew deadline reached, lease duration not yet
    api.fail = False
    clock_b.advance(gave_up_after)
    assert await b.try_acquire_or_renew() is Attempt.HELD_BY_OTHER  # a already stopped by now
    clock_b.advance(15 - gave_up_after)
    assert await b.try_acquire_or_renew() is Attempt.HELD


async def test_a_leader_that_sees_another_holder_stops_at_once() -> None:
    api, clock = MemoryLeases(), VirtualClock()
    a = candidate("a", api, clock)
    await a.acquire()
    api.leases[KEY] = replace(api.leases[KEY], holder_identity="intruder", resource_version="99")
    began = clock.monotonic()
    await a.renew_until_lost()
    assert not a.is_leader
    assert clock.monotonic() - began == 1  # one retry period, not the renew deadline


async def test_the_block_runs_while_leading_and_the_lease_is_released_after() -> None:
    api, gauge, events = MemoryLeases(), Gauge(), []
    a = candidate(
        "a",
        api,
        gauge=gauge,
        on_started_leading=lambda: events.append("started"),
        on_stopped_leading=lambda: events.append("stopped"),
    )
    async with a.leadership():
        assert a.is_leader and events == ["started"]
        await asyncio.sleep(0)
    assert not a.is_leader
    assert events == ["started", "stopped"] and gauge.values == [1.0, 0.0]
    assert api.leases[KEY].holder_identity == ""


async def test_losing_leadership_cancels_the_block_and_raises_leadership_lost() -> None:
    api = MemoryLeases()
    a = candidate("a", api)
    reached_end = False
    with pytest.raises(LeadershipLost):
        async with a.leadership():
            api.fail = True
            await asyncio.Event().wait()  # work that would go on forever
            reached_end = True
    assert not reached_end and not a.is_leader
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_cancelling_the_leader_releases_the_lease() -> None:
    api = MemoryLeases()

    async def work() -> None:
        async with a.leadership():
            await asyncio.Event().wait()

    leading = asyncio.Event()
    a = candidate("a", api, on_started_leading=leading.set)
    task = asyncio.create_task(work())
    await leading.wait()
    task.cancel()  # what the daemon does on SIGTERM once the queue is drained
    with pytest.raises(asyncio.CancelledError):
        await task
    assert api.leases[KEY].holder_identity == ""


async def test_a_cancelled_standby_writes_nothing() -> None:
    api = MemoryLeases()
    a, b = candidate("a", api), candidate("b", api)
    await a.acquire()
    writes = len(api.writes)
    waiting = asyncio.create_task(b.acquire())
    for _ in range(20):
        await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert len(api.writes) == writes and not b.is_leader


async def test_a_failing_callback_does_not_stop_the_election() -> None:
    def boom() -> None:
        raise RuntimeError("callback bug")

    a = candidate("a", MemoryLeases(), on_started_leading=boom)
    await a.acquire()
    assert a.is_leader


def test_config_defaults_come_from_the_pod(tmp_path: Path) -> None:
    namespace_file = tmp_path / "namespace"
    namespace_file.write_text("monitoring\n")
    config = election_config(
        LeaderSettings(enabled=True),
        hostname=lambda: "kg-exporter-7d9-x2",
        namespace_file=namespace_file,
    )
    assert (config.namespace, config.identity, config.lease_name) == (
        "monitoring",
        "kg-exporter-7d9-x2",
        "kg-exporter",
    )


def test_config_outside_a_pod_needs_a_namespace(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"leader\.namespace"):
        election_config(LeaderSettings(enabled=True), namespace_file=tmp_path / "missing")


def test_config_refuses_a_renew_deadline_not_below_the_lease_duration() -> None:
    settings = LeaderSettings(namespace="ops", lease_duration_seconds=10, renew_deadline_seconds=10)
    with pytest.raises(SettingsError, match="renew deadline must be shorter"):
        election_config(settings)
