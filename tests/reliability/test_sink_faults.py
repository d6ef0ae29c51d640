"""Faults of the Metadata Service, between ``kg-exporter run`` and the reference service: half the
requests answered 503, 2 s per request, down for 30 s under a stream of transitions, one subgraph
rejected with 400 forever, 200 with garbage, no answer at all. Each test ends with the store equal
to the ground truth (see truth.py)."""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable

from tests.e2e.stack import MetadataService, eventually
from tests.fakekube import FakeKube
from tests.reliability.conftest import SinkDaemon
from tests.reliability.proxy import FaultProxy, Seen
from tests.reliability.truth import (
    Churn,
    dep_id,
    healthz,
    metric,
    settle,
    telemetry_id,
    vm_hwm_mib,
)

#: The daemon's peak RSS must stay under this (≈105 MiB is the interpreter and its libraries).
MEMORY_BOUND_MIB = 250.0

#: How long the Metadata Service stays down in the outage test, and the transitions meanwhile.
OUTAGE_SECONDS = 30.0
OUTAGE_TRANSITIONS = 2000

#: ``daemon.rejected_retry_max_seconds`` of the 400 test (300 s by default).
REJECTED_CAP_SECONDS = 1.0


def test_half_the_requests_answered_503(
    fake_kube: FakeKube,
    metadata_service: MetadataService,
    proxy: FaultProxy,
    launch: Callable[..., SinkDaemon],
    figures: dict[str, object],
) -> None:
    ms = metadata_service
    churn = Churn(fake_kube, deployments=60, jobs=10, statefulsets=20, nodes=10, seed=503)
    churn.create_all()
    rng = random.Random(7)
    lock = threading.Lock()

    def half(_: Seen) -> str | None:
        with lock:
            return "503" if rng.random() < 0.5 else None

    proxy.policy = half
    daemon = launch(proxy.url)
    settle(ms, fake_kube, churn, within=60)
    churn.run(300, over=6.0)
    settle(ms, fake_kube, churn, within=60)
    assert daemon.alive and healthz(daemon.url) == 200
    hwm = vm_hwm_mib(daemon.pid)
    assert hwm < MEMORY_BOUND_MIB
    figures.update(
        transitions=churn.transitions,
        faults_503=proxy.count("503"),
        forwarded=sum(proxy.forwarded.values()),
        vm_hwm_mib=hwm,
    )


def test_two_seconds_per_request(
    fake_kube: FakeKube,
    metadata_service: MetadataService,
    proxy: FaultProxy,
    launch: Callable[..., SinkDaemon],
    figures: dict[str, object],
) -> None:
    """Every request takes 2 s: writes pile up as keys (each once), not as events."""
    ms = metadata_service
    churn = Churn(fake_kube, deployments=20, seed=2)
    churn.create_all()
    daemon = launch(proxy.url, sink={"timeout_seconds": 5.0})
    settle(ms, fake_kube, churn, within=90)
    proxy.policy = lambda _: "slow"
    churn.run(400, over=4.0)  # 20 keys churned 400 times at 100/s: far faster than 2 s per request can follow
    took = settle(ms, fake_kube, churn, within=90, poll=1.0)
    assert daemon.alive and healthz(daemon.url) == 200
    hwm = vm_hwm_mib(daemon.pid)
    assert hwm < MEMORY_BOUND_MIB
    figures.update(
        transitions=churn.transitions,
        slow_requests=proxy.count("slow"),
        settled_after_s=round(took, 1),
        vm_hwm_mib=hwm,
    )


def test_metadata_service_down_30_s_during_2000_transitions(
    fake_kube: FakeKube,
    metadata_service: MetadataService,
    launch: Callable[..., SinkDaemon],
    figures: dict[str, object],
) -> None:
    ms = metadata_service
    churn = Churn(fake_kube, deployments=200, jobs=20, statefulsets=40, nodes=20, seed=30)
    churn.create_all()
    daemon = launch(ms.url)
    settle(ms, fake_kube, churn, within=120)
    before = vm_hwm_mib(daemon.pid)
    assert ms.stop() == 0
    down_at = time.monotonic()
    churn.run(OUTAGE_TRANSITIONS, over=OUTAGE_SECONDS - 2)
    churned_in = time.monotonic() - down_at
    # The service stays down at least OUTAGE_SECONDS and until the last transition is applied
    # (on a loaded machine the fake API can take longer than planned): all of them fall inside.
    while time.monotonic() < down_at + OUTAGE_SECONDS:
        time.sleep(0.1)
    outage = time.monotonic() - down_at
    assert daemon.alive, "the daemon died while the Metadata Service was down"
    assert healthz(daemon.url) == 200
    during = vm_hwm_mib(daemon.pid)
    ms.start()
    up_at = time.monotonic()
    recovery = settle(ms, fake_kube, churn, within=120, poll=0.25)
    hwm = vm_hwm_mib(daemon.pid)
    assert hwm < MEMORY_BOUND_MIB
    log = daemon.log_text()
    assert "Traceback" not in log
    figures.update(
        transitions=churn.transitions,
        churned_in_s=round(churned_in, 1),
        outage_s=round(outage, 1),
        recovery_s=round(time.monotonic() - up_at, 1),
        settle_poll_s=round(recovery, 1),
        vm_hwm_before_mib=before,
        vm_hwm_outage_mib=during,
        vm_hwm_mib=hwm,
        retries=int(metric(daemon.url, "kg_exporter_queue_retries_total")),
    )


def test_one_subgraph_rejected_with_400_forever(
    fake_kube: FakeKube,
    metadata_service: MetadataService,
    proxy: FaultProxy,
    launch: Callable[..., SinkDaemon],
    figures: dict[str, object],
) -> None:
    """400 for every PUT of one workload: the key is retried with its own capped backoff (one
    ERROR line per step, failures numbered 1, 2, 3, ...), every refused PUT is counted, the other
    workloads are written as usual; once the service stops refusing, the victim's latest state is
    written without any change of its object (nothing lost)."""
    ms = metadata_service
    churn = Churn(fake_kube, deployments=40, seed=400)
    victim = "d0003"
    proxy.policy = lambda seen: "400" if seen.method == "PUT" and victim in seen.path else None
    churn.create_all()
    churn.live.discard(victim)  # only this test changes the victim, so its changes are counted
    daemon = launch(proxy.url, rejected_retry_max_seconds=REJECTED_CAP_SECONDS)
    ignore = frozenset({dep_id(victim)})
    settle(ms, fake_kube, churn, within=90, ignore=ignore)
    changes = 1
    for replicas in (0, 1) * 5 + (0,):  # the victim stops and starts again, among other changes
        fake_kube.scale("Deployment", "default", victim, replicas)
        fake_kube.patch_status("Deployment", "default", victim, {"availableReplicas": replicas})
        changes += 1
        churn.run(10)
        time.sleep(0.2)
    time.sleep(3.0)  # a few more steps at the cap, with nothing changing
    settle(ms, fake_kube, churn, within=90, ignore=ignore)
    assert ms.document(dep_id(victim)) is None
    assert healthz(daemon.url) == 200, "a 400 is not a sink outage"
    assert daemon.readyz(timeout=30) == 200, "a 400 is not a sink outage"

    proxy.policy = lambda _: None  # the service is fixed: it accepts the victim again
    healed_at = time.monotonic()
    settle(ms, fake_kube, churn, within=REJECTED_CAP_SECONDS + 60, poll=0.1)
    eventually(
        lambda: ms.document(telemetry_id(victim)) is not None,
        within=REJECTED_CAP_SECONDS + 60,
        what="the victim's telemetry subgraph",
    )
    written_after = time.monotonic() - healed_at
    assert ms.phase(dep_id(victim)) == "stopped", "its latest state"

    pattern = re.compile(
        rf" ERROR kg_exporter\.queue rejected Deployment/default/{victim} \(HTTP 400: "
        r"injected: rejected for good\); will retry in ([\d.]+) s \(failure (\d+)\)$"
    )
    log = daemon.log_text().splitlines()
    steps = [(float(m.group(1)), int(m.group(2))) for m in map(pattern.search, log) if m]
    assert len([line for line in log if "rejected Deployment/" in line]) == len(steps), "format"
    # One line per backoff step: failures 1, 2, 3, ... strictly increasing, none repeated.
    assert [n for _, n in steps] == list(range(1, len(steps) + 1)), steps
    assert len(steps) >= changes, (len(steps), changes)
    assert max(d for d, _ in steps) <= REJECTED_CAP_SECONDS
    # Every refused PUT counted once; every step counted once as a retry.
    rejected = metric(daemon.url, "kg_exporter_writes_total", outcome="rejected")
    assert rejected == proxy.count("400")
    assert metric(daemon.url, "kg_exporter_queue_retries_total", reason="rejected") == len(steps)
    assert healthz(daemon.url) == 200
    figures.update(
        transitions=churn.transitions + changes,
        victim_changes=changes,
        rejected_puts=proxy.count("400"),
        rejected_metric=int(rejected),
        backoff_steps_logged=len(steps),
        longest_delay_s=max(d for d, _ in steps),
        victim_written_after_heal_s=round(written_after, 1),
    )


def test_no_answer_at_all_then_garbage(
    fake_kube: FakeKube,
    metadata_service: MetadataService,
    proxy: FaultProxy,
    launch: Callable[..., SinkDaemon],
    figures: dict[str, object],
) -> None:
    """Every request hangs (the sink's timeout must fire and the key be retried), then every read answers
    200 with a body that is not JSON (a restart's reconciliation reads); the daemon stays live."""
    ms = metadata_service
    churn = Churn(fake_kube, deployments=30, jobs=5, seed=6)
    churn.create_all()
    daemon = launch(proxy.url, sink={"timeout_seconds": 1.0})
    settle(ms, fake_kube, churn, within=90)

    proxy.policy = lambda _: "hang"
    churn.run(100, over=2.0)
    live = []
    for _ in range(30):
        live.append(healthz(daemon.url))
        time.sleep(0.2)
    assert set(live) == {200}, "/healthz while the sink hangs"
    assert daemon.readyz(timeout=30) == 503, "/readyz says the sink is failing"
    proxy.policy = lambda _: None
    hang_recovery = settle(ms, fake_kube, churn, within=90, poll=0.25)
    log = daemon.log_text()
    assert "will retry" in log and "Timeout" in log, "the sink's timeout fired and was retried"

    # A restart whose reads get garbage: reconciliation must retry, not crash or lose anything.
    assert daemon.stop() == 0
    proxy.policy = lambda seen: "garbage" if seen.method == "GET" else None
    # While it is down, workloads are also deleted and created again under the same name: the
    # restart must tell the stored instances from the live ones (read back through garbage).
    churn.recreations = True
    churn.run(100)
    second = launch(proxy.url, sink={"timeout_seconds": 1.0}, ready=False)
    # Garbage for at least 4 s after the reconciliation's reads began (polled: on a loaded
    # machine the listing alone can take seconds).
    eventually(lambda: proxy.count("garbage") >= 1, within=60, what="a read answered garbage")
    time.sleep(4.0)
    assert second.alive and healthz(second.url) == 200
    proxy.policy = lambda _: None
    garbage_recovery = settle(ms, fake_kube, churn, within=90, poll=0.25)
    assert healthz(second.url) == 200
    figures.update(
        transitions=churn.transitions,
        hung_requests=proxy.count("hang"),
        garbage_answers=proxy.count("garbage"),
        recreated_while_down=churn.recreated,
        recovery_after_hang_s=round(hang_recovery, 1),
        recovery_after_garbage_s=round(garbage_recovery, 1),
    )


def test_one_subgraph_unavailable_forever_is_retried_once_per_backoff_step(
    fake_kube: FakeKube,
    metadata_service: MetadataService,
    proxy: FaultProxy,
    launch: Callable[..., SinkDaemon],
    figures: dict[str, object],
) -> None:
    """503 forever for one workload: retried with a growing, capped per-key backoff, one log
    line per step, while every other workload is written as usual."""
    ms = metadata_service
    churn = Churn(fake_kube, deployments=40, seed=5031)
    victim = "d0007"
    proxy.policy = lambda seen: "503" if seen.method == "PUT" and victim in seen.path else None
    churn.create_all()
    daemon = launch(proxy.url)
    ignore = frozenset({dep_id(victim)})
    settle(ms, fake_kube, churn, within=90, ignore=ignore)
    churn.run(200, over=6.0)
    settle(ms, fake_kube, churn, within=90, ignore=ignore)
    assert ms.document(dep_id(victim)) is None
    pattern = re.compile(rf"will retry Deployment/default/{victim} in ([\d.]+) s \(failure (\d+)\)")
    steps = [
        (float(m.group(1)), int(m.group(2)))
        for m in map(pattern.search, daemon.log_text().splitlines())
        if m
    ]
    assert len(steps) >= 5, steps
    # One line per backoff step: failures counted 1, 2, 3, ... with no repeat, delays capped.
    assert [n for _, n in steps] == list(range(1, len(steps) + 1)), steps
    assert max(d for d, _ in steps) <= 2.0  # daemon.retry_max_seconds of the harness
    assert metric(daemon.url, "kg_exporter_queue_retries_total", reason="unavailable") >= len(steps)
    assert healthz(daemon.url) == 200
    figures.update(
        transitions=churn.transitions,
        injected_503=proxy.count("503"),
        backoff_steps_logged=len(steps),
    )
