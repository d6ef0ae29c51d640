"""Two candidate processes against the fake API server, over HTTP with the real client: one
leads, a SIGKILLed leader is replaced within the lease duration, a SIGTERMed one hands over within
2 s, and at no moment do two of them do the work."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakekube import FakeKube
from tests.leader.lease import holder, written_at
from tests.support.lateness import Lateness
from tests.support.processes import wait_until

pytest_plugins = ["tests.fakekube.fixtures"]

REPO = Path(__file__).resolve().parents[2]
LEASE_SECONDS = 2  # short so the tests are quick; the rules do not depend on the scale
RETRY_SECONDS = 0.2
POLL = 1.2 * RETRY_SECONDS  # a standby's longest wait between two reads (jittered)
# Starting a Python process that imports the client takes seconds on a busy 2-core machine.
START_SECONDS = 60


@dataclass
class Candidate:
    identity: str
    process: subprocess.Popen[bytes]
    events: Path

    def lines(self) -> list[list[str]]:
        text = self.events.read_text(encoding="utf-8") if self.events.exists() else ""
        return [line.split() for line in text.splitlines() if line]

    def times(self, word: str) -> list[float]:
        return [float(parts[-1]) for parts in self.lines() if parts[0] == word]

    def saw(self) -> set[str]:
        return {parts[1] for parts in self.lines() if parts[0] == "saw"}

    def intervals(self) -> list[tuple[float, float]]:
        """(lead, last beat) of each term as leader."""
        terms: list[tuple[float, float]] = []
        start: float | None = None
        last = 0.0
        for parts in self.lines():
            if parts[0] == "lead":
                start = last = float(parts[-1])
            elif parts[0] == "beat" and start is not None:
                last = float(parts[-1])
            elif parts[0] in {"released", "exited"} and start is not None:
                terms.append((start, last))
                start = None
        if start is not None:
            terms.append((start, last))
        return terms


@pytest.fixture
def candidates(fake_kube: FakeKube, tmp_path: Path) -> Iterator[dict[str, Candidate]]:
    started: dict[str, Candidate] = {}
    for identity in ("a", "b"):
        events = tmp_path / f"{identity}.events"
        argv = [sys.executable, "-m", "tests.leader.candidate"]
        argv += ["--kubeconfig", str(fake_kube.kubeconfig_path), "--identity", identity]
        argv += ["--events", str(events), "--lease-duration", str(LEASE_SECONDS)]
        argv += ["--renew-deadline", "1.5", "--retry-period", str(RETRY_SECONDS)]
        process = subprocess.Popen(argv, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
        started[identity] = Candidate(identity, process, events)
    try:
        yield started
    finally:
        for candidate in started.values():
            if candidate.process.poll() is None:
                candidate.process.kill()
            candidate.process.wait(timeout=10)
        assert_never_two_leaders(list(started.values()))


def assert_never_two_leaders(candidates: list[Candidate]) -> None:
    terms = sorted((start, end, c.identity) for c in candidates for start, end in c.intervals())
    for (_, end, first), (start, _, second) in itertools.pairwise(terms):
        assert end < start, f"{first} still worked at {end} when {second} began at {start}"


def leader_of(candidates: dict[str, Candidate]) -> Candidate:
    wait_until(
        lambda: sum(bool(c.times("lead")) for c in candidates.values()) >= 1,
        timeout=START_SECONDS,
        what="a leader",
    )
    (leader,) = [c for c in candidates.values() if c.times("lead")]
    return leader


def watching(fake_kube: FakeKube, leader: Candidate, standby: Candidate) -> None:
    """Until ``standby`` polls the Lease and has seen a renewal written since it began: a
    candidate that started late (seconds on a busy machine) counts the lease duration from its
    first look, which would time its take-over from then, not from the leader's last renewal."""
    wait_until(lambda: bool(standby.times("observed")), timeout=START_SECONDS, what="a standby")
    since = standby.times("observed")[0]

    def renewed_since() -> bool:
        held_by, renewed = written_at(fake_kube, "renewTime")
        return held_by == leader.identity and renewed is not None and renewed > since

    wait_until(renewed_since, timeout=30, what="a renewal the standby saw")


def deployment(name: str) -> dict[str, object]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]},
            },
        },
    }


def test_exactly_one_leads_and_a_sigterm_hands_over_within_2_s(
    fake_kube: FakeKube, candidates: dict[str, Candidate]
) -> None:
    leader = leader_of(candidates)
    (standby,) = [c for c in candidates.values() if c is not leader]
    wait_until(lambda: holder(fake_kube) == leader.identity, timeout=30, what="lease holder")
    watching(fake_kube, leader, standby)
    time.sleep(LEASE_SECONDS + 1)  # over a lease duration: the standby must keep waiting
    assert not standby.times("lead") and holder(fake_kube) == leader.identity
    # The leader kept working (its beats; slow on a busy machine, so waited for).
    wait_until(lambda: len(leader.times("beat")) > 10, timeout=30, what="ten beats")

    with Lateness(probe=lambda: holder(fake_kube)) as late:
        leader.process.send_signal(signal.SIGTERM)
        signalled = time.time()  # after sending: a late test process only shortens the measure
        wait_until(lambda: bool(standby.times("lead")), timeout=30, what="hand-over")
    # Release + one poll of the standby; a busy machine adds its measured wake-up delays (the
    # leader's signal handler and release, the standby's poll and its record) and the API
    # server's slower answers (the release, the standby's read and its take-over).
    assert standby.times("lead")[0] - signalled < 2.0 + 3 * late.worst + 3 * late.round_trip
    assert leader.process.wait(timeout=30) == 0 and leader.times("released")
    assert holder(fake_kube) == standby.identity


def test_a_killed_leader_is_replaced_within_the_lease_duration_and_nothing_is_missed(
    fake_kube: FakeKube, candidates: dict[str, Candidate]
) -> None:
    fake_kube.create(deployment("before"))
    leader = leader_of(candidates)
    (standby,) = [c for c in candidates.values() if c is not leader]
    wait_until(lambda: "before" in leader.saw(), timeout=30, what="first listing")
    watching(fake_kube, leader, standby)

    with Lateness(probe=lambda: holder(fake_kube)) as late:
        leader.process.kill()
        killed = time.time()
        # Its last renewal, as it wrote it (its own clock); the lease stands still until the
        # standby takes it, at least a lease duration later.
        held_by, renewed = written_at(fake_kube, "renewTime")
        last_renewal = renewed if held_by == leader.identity and renewed is not None else killed
        leader.process.wait(timeout=30)
        fake_kube.create(deployment("born-while-nobody-led"))
        wait_until(lambda: bool(standby.times("lead")), timeout=30, what="fail-over")
    took_over = standby.times("lead")[0] - last_renewal
    if last_renewal != killed:
        # Never before the lease expired: the standby counts the lease duration from when it saw
        # that renewal, which is after it was written.
        assert took_over >= LEASE_SECONDS - 0.01
    # And not later than a lease duration after it saw the renewal (at most a poll after it was
    # written) plus the poll that finds it expired, plus the machine's measured wake-up delays and
    # the API server's measured answers (the read that saw the renewal, the read that finds it
    # expired, the write taking the lease).
    bound = LEASE_SECONDS + 2 * POLL + 0.5 + 3 * late.worst + 3 * late.round_trip
    assert took_over < bound, (took_over, late.worst, late.round_trip)
    wait_until(lambda: "born-while-nobody-led" in standby.saw(), timeout=30, what="catch-up")
    assert {"before", "born-while-nobody-led"} <= standby.saw()
    assert holder(fake_kube) == standby.identity
