"""Work queue semantics: dedup, one worker per key, backoff re-queue; the workers' retry policy."""

from __future__ import annotations

import asyncio
import logging

import pytest

from kg_exporter.errors import RenderError, SinkRejected, SinkUnavailable
from kg_exporter.queue import Backoff, KeyBackoff, Workers, WorkQueue


async def test_adding_a_queued_key_is_a_no_op() -> None:
    queue: WorkQueue[str] = WorkQueue()
    for key in ("a", "b", "a", "a", "c", "b"):
        queue.add(key)
    assert len(queue) == 3
    assert [await queue.get() for _ in range(3)] == ["a", "b", "c"]


async def test_a_key_added_while_processing_is_queued_again_once_when_done() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add("a")
    key = await queue.get()
    assert key == "a"
    queue.add("a")
    queue.add("a")
    assert len(queue) == 0  # not handed out while a worker holds it
    queue.done("a")
    assert len(queue) == 1
    assert await queue.get() == "a"


async def test_never_the_same_key_twice_at_once() -> None:
    queue: WorkQueue[int] = WorkQueue()
    active: set[int] = set()
    overlaps = processed = 0

    async def process(key: int) -> None:
        nonlocal overlaps, processed
        if key in active:
            overlaps += 1
        active.add(key)
        await asyncio.sleep(0.001)
        active.discard(key)
        processed += 1

    workers = Workers(queue, process, KeyBackoff(Backoff(0.01, 0.01)), count=8)
    workers.start()
    for round_ in range(50):
        for key in range(5):
            queue.add(key)
        await asyncio.sleep(0.0005 * (round_ % 3))
    await asyncio.wait_for(queue.join(), 5)
    queue.shutdown()
    await workers.wait()
    assert overlaps == 0
    assert processed <= 250  # bursts collapsed


async def test_add_after_requeues_later_and_a_new_add_wins() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add_after("a", 0.05)
    assert len(queue) == 0 and queue.waiting == 1
    assert await asyncio.wait_for(queue.get(), 1) == "a"
    queue.done("a")
    queue.add_after("b", 30)
    queue.add("b")  # the object changed again: try now
    assert queue.waiting == 0 and len(queue) == 1
    queue.add_after("c", 30)
    assert queue.retry_now() == 1 and len(queue) == 2


async def test_join_waits_for_backing_off_keys_and_shutdown_returns_them() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add_after("a", 30)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(queue.join(), 0.05)
    assert queue.shutdown() == ["a"]
    await asyncio.wait_for(queue.join(), 1)
    assert await queue.get() is None


def test_backoff_is_capped_exponential_with_full_jitter() -> None:
    backoff = Backoff(0.5, 4.0, rng=lambda: 1.0)
    assert [backoff.delay(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert Backoff(0.5, 4.0, rng=lambda: 0.25).delay(3) == 0.5
    assert Backoff(1.0, 10.0, rng=lambda: 1.0).delay(10_000) == 10.0
    assert Backoff(1.0, 10.0, rng=lambda: 1.0).delay(10_000, cap=300.0) == 300.0
    assert Backoff(1.0, 10.0, rng=lambda: 1.0).ceiling(2, cap=1.5) == 1.5
    keys: KeyBackoff[str] = KeyBackoff(Backoff(1.0, 100.0, rng=lambda: 1.0))
    assert [keys.next_delay("a") for _ in range(3)] == [1.0, 2.0, 4.0]
    assert keys.next_delay("a", cap=3.0) == 3.0 and keys.failures("a") == 4
    assert keys.next_delay("b") == 1.0
    keys.forget("a")
    assert keys.next_delay("a") == 1.0


class RecordingQueue(WorkQueue[str]):
    """Records each retry delay the workers ask for, and re-queues at once (no waiting)."""

    def __init__(self) -> None:
        super().__init__()
        self.delays: list[tuple[str, float]] = []

    def add_after(self, key: str, delay: float) -> None:
        self.delays.append((key, delay))
        super().add_after(key, 0)


async def test_unavailable_and_rejected_keys_are_retried_each_with_its_cap_render_errors_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    queue = RecordingQueue()
    attempts: dict[str, int] = {}

    async def process(key: str) -> None:
        attempts[key] = attempts.get(key, 0) + 1
        if key == "flaky" and attempts[key] <= 4:
            raise SinkUnavailable("connection refused")
        if key == "bad" and attempts[key] <= 5:
            raise SinkRejected(400, "zero triples")
        if key == "broken":
            raise RenderError("template boom")

    retried: list[tuple[str, str]] = []
    workers = Workers(
        queue,
        process,
        KeyBackoff(Backoff(1.0, 2.0, rng=lambda: 1.0)),
        count=2,
        on_retry=lambda k, r: retried.append((k, r)),
        rejected_cap=8.0,
    )
    workers.start()
    for key in ("flaky", "bad", "broken", "fine"):
        queue.add(key)
    await asyncio.wait_for(queue.join(), 5)
    queue.shutdown()
    await workers.wait()
    assert attempts == {"flaky": 5, "bad": 6, "broken": 1, "fine": 1}
    # Each policy its cap: retry_max_seconds for an unreachable sink, the longer
    # rejected_retry_max_seconds for a refused document; nothing is dropped but the unrenderable.
    assert [d for k, d in queue.delays if k == "flaky"] == [1.0, 2.0, 2.0, 2.0]
    assert [d for k, d in queue.delays if k == "bad"] == [1.0, 2.0, 4.0, 8.0, 8.0]
    assert sorted(retried) == sorted([("flaky", "unavailable")] * 4 + [("bad", "rejected")] * 5)
    messages = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert (
        logging.WARNING,
        "will retry flaky in 1.0 s (failure 1): the sink is unavailable: connection refused",
    ) in messages
    rejected = [
        m for level, m in messages if m.startswith("rejected bad") and level == logging.ERROR
    ]
    assert rejected == [
        f"rejected bad (HTTP 400: zero triples); will retry in {delay:.1f} s (failure {n})"
        for n, delay in enumerate([1.0, 2.0, 4.0, 8.0, 8.0], start=1)
    ]
    assert (logging.ERROR, "not writing broken: template boom; dropped until it changes again") in (
        messages
    )


async def test_the_failures_of_a_rejected_key_count_up_until_a_write_succeeds() -> None:
    """Whatever the status (422, 409, 413), a refused key's failures count up (so the failure
    numbers logged never repeat) and its delay grows, until a write succeeds and resets it."""
    queue = RecordingQueue()
    backoff: KeyBackoff[str] = KeyBackoff(Backoff(1.0, 2.0, rng=lambda: 1.0))
    outcomes = [SinkRejected(422, "no"), SinkRejected(409, "no"), None, SinkRejected(413, "big")]

    async def process(key: str) -> None:
        outcome = outcomes.pop(0) if outcomes else None
        if outcome is not None:
            raise outcome

    workers = Workers(queue, process, backoff, count=1, rejected_cap=60.0)
    workers.start()
    queue.add("k")
    await asyncio.wait_for(queue.join(), 5)
    assert [d for _, d in queue.delays] == [1.0, 2.0]
    assert backoff.failures("k") == 0  # the third attempt succeeded
    queue.add("k")  # changed again; refused again: counted from 1
    await asyncio.wait_for(queue.join(), 5)
    assert [d for _, d in queue.delays] == [1.0, 2.0, 1.0]
    queue.shutdown()
    await workers.wait()


async def test_while_draining_a_rejected_key_is_left_for_the_next_start(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """On SIGTERM a rejected key must not hold the shutdown up until the drain deadline."""
    queue: WorkQueue[str] = WorkQueue()

    async def process(key: str) -> None:
        raise SinkRejected(400, "zero triples")

    retried: list[tuple[str, str]] = []
    workers = Workers(
        queue,
        process,
        KeyBackoff(Backoff(30.0, 30.0)),
        count=1,
        on_retry=lambda k, r: retried.append((k, r)),
    )
    workers.start()
    workers.drain()
    queue.add("k")
    await asyncio.wait_for(queue.join(), 5)
    assert queue.waiting == 0 and not retried
    assert "rejected k (HTTP 400: zero triples); not retried: shutting down (failure 1)" in [
        r.getMessage() for r in caplog.records
    ]
    queue.shutdown()
    await workers.wait()


async def test_an_unexpected_error_is_logged_and_retried_not_fatal(
    caplog: pytest.LogCaptureFixture,
) -> None:
    queue: WorkQueue[str] = WorkQueue()
    calls = 0

    async def process(key: str) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise KeyError("bug")

    workers = Workers(queue, process, KeyBackoff(Backoff(0.01, 0.01)), count=1)
    workers.start()
    queue.add("k")
    await asyncio.wait_for(queue.join(), 5)
    queue.shutdown()
    await workers.wait()
    assert calls == 2
    assert any(r.exc_info for r in caplog.records if "unexpected error writing k" in r.getMessage())


@pytest.mark.parametrize(
    "failure", [SinkUnavailable("503"), SinkRejected(400, "zero triples")], ids=["503", "400"]
)
async def test_the_other_keys_carry_on_while_one_backs_off(failure: Exception) -> None:
    queue: WorkQueue[str] = WorkQueue()
    done: list[str] = []

    async def process(key: str) -> None:
        if key == "down":
            raise failure
        done.append(key)

    workers = Workers(
        queue,
        process,
        KeyBackoff(Backoff(10.0, 10.0, rng=lambda: 1.0)),
        count=1,
        rejected_cap=10.0,
    )
    workers.start()
    queue.add("down")
    for i in range(20):
        queue.add(f"k{i}")
    for _ in range(100):
        if len(done) == 20:
            break
        await asyncio.sleep(0.01)
    assert len(done) == 20 and queue.waiting == 1
    assert queue.shutdown() == ["down"]
    await workers.wait()


@pytest.mark.parametrize("status", [401, 403])
async def test_refused_credentials_are_retried_not_dropped(
    caplog: pytest.LogCaptureFixture, status: int
) -> None:
    """A token rotation reaches the service and the daemon at different moments: a write refused
    in that gap must be retried (the token file is re-read each attempt), never lost."""
    queue: WorkQueue[str] = WorkQueue()
    calls = 0

    async def process(key: str) -> None:
        nonlocal calls
        calls += 1
        if calls <= 2:
            raise SinkRejected(status, "invalid token")

    workers = Workers(queue, process, KeyBackoff(Backoff(0.01, 0.01)), count=1)
    workers.start()
    queue.add("k")
    await asyncio.wait_for(queue.join(), 5)
    queue.shutdown()
    await workers.wait()
    assert calls == 3
    assert any(
        "will retry k in" in r.getMessage() and "credentials" in r.getMessage()
        for r in caplog.records
    )
