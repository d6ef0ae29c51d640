"""Faults of the Kubernetes API side, under a stream of transitions: watches cut every few hundred
events, a storm of 410 answers, the API server unreachable, and the daemon SIGKILLed at random
moments and started again. Each test ends with the store equal to the ground truth (truth.py)."""

from __future__ import annotations

import random
import signal
import threading
import time
from collections.abc import Callable

from tests.e2e.stack import MetadataService
from tests.fakekube import FakeKube
from tests.reliability.conftest import SinkDaemon
from tests.reliability.truth import Churn, healthz, metric, settle, vm_hwm_mib

#: How long the API server is unreachable, and the transitions meanwhile and after.
API_OUTAGE_SECONDS = 30.0
API_OUTAGE_TRANSITIONS, AFTER_TRANSITIONS = 600, 100


def test_watches_cut_every_few_hundred_events_and_a_410_storm(
    fake_kube: FakeKube,
    metadata_service: MetadataService,
    launch: Callable[..., SinkDaemon],
    figures: dict[str, object],
) -> None:
    ms = metadata_service
    churn = Churn(
        fake_kube, deployments=100, jobs=10, statefulsets=20, nodes=10, seed=410, recreations=True
    )
    churn.create_all()
    daemon = launch(ms.url)
    settle(ms, fake_kube, churn, within=90)
    drops = storms = 0
    rng = random.Random(11)
    for round_ in range(8):
        # ~100-300 events (two events each), then the watches are cut mid-stream.
        churn.run(rng.randint(100, 300) // 2)
        fake_kube.drop_watches(abrupt=True)
        drops += 1
        if round_ % 2:
            # A storm: the next reconnects of every kind answer 410 (and the history is gone).
            fake_kube.compact()
            fake_kube.fail_next_watches(6, 410)
            storms += 6
    churn.run(50)
    took = settle(ms, fake_kube, churn, within=90, poll=0.25)
    assert daemon.alive and healthz(daemon.url) == 200
    restarts = metric(daemon.url, "kg_exporter_watch_restarts_total")
    expired = metric(daemon.url, "kg_exporter_watch_restarts_total", reason="expired")
    assert expired >= 1, "the 410s made the daemon relist"
    assert "Traceback" not in daemon.log_text()
    figures.update(
        transitions=churn.transitions,
        recreated=churn.recreated,
        watch_drops=drops,
        injected_410=storms,
        watch_restarts=int(restarts),
        relists_after_410=int(expired),
        settled_after_s=round(took, 1),
        vm_hwm_mib=vm_hwm_mib(daemon.pid),
    )


def test_api_server_unreachable(
    fake_kube: FakeKube,
    metadata_service: MetadataService,
    launch: Callable[..., SinkDaemon],
    figures: dict[str, object],
) -> None:
    ms = metadata_service
    churn = Churn(fake_kube, deployments=100, jobs=10, statefulsets=20, nodes=10, seed=10)
    churn.create_all()
    daemon = launch(ms.url)
    settle(ms, fake_kube, churn, within=90)
    fake_kube.set_unavailable(True)
    down_at = time.monotonic()
    # Changes the daemon cannot see while the API is down (the fake API still applies them), and
    # the history compacted, so only a relist can find them.
    churn.run(API_OUTAGE_TRANSITIONS, over=API_OUTAGE_SECONDS - 1)
    during = churn.transitions
    fake_kube.compact()
    while time.monotonic() < down_at + API_OUTAGE_SECONDS:
        time.sleep(0.1)
    assert daemon.alive and healthz(daemon.url) == 200
    fake_kube.set_unavailable(False)
    recovery = settle(ms, fake_kube, churn, within=90, poll=0.25)
    churn.run(AFTER_TRANSITIONS)
    after = settle(ms, fake_kube, churn, within=60, poll=0.25)
    assert "Traceback" not in daemon.log_text()
    figures.update(
        transitions=churn.transitions,
        during_outage=during,
        api_outage_s=API_OUTAGE_SECONDS,
        recovery_s=round(recovery, 1),
        settled_after_100_more_s=round(after, 1),
        watch_restarts=int(metric(daemon.url, "kg_exporter_watch_restarts_total")),
        vm_hwm_mib=vm_hwm_mib(daemon.pid),
    )


def test_daemon_sigkilled_ten_times_during_a_stream_of_changes(
    fake_kube: FakeKube,
    metadata_service: MetadataService,
    launch: Callable[..., SinkDaemon],
    figures: dict[str, object],
) -> None:
    ms = metadata_service
    churn = Churn(
        fake_kube, deployments=80, jobs=10, statefulsets=20, nodes=10, seed=9, recreations=True
    )
    churn.create_all()
    rng = random.Random(99)
    stop = threading.Event()
    errors: list[BaseException] = []

    def stream() -> None:
        try:
            while not stop.is_set():
                churn.step()
                time.sleep(0.02)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    daemon = launch(ms.url)
    # Every start written before the changes begin: a workload whose start no daemon life wrote
    # and that stopped before a life lasted long enough to write anything leaves no trace that
    # any daemon could find (on a loaded machine, the first lives write only a few subgraphs).
    settle(ms, fake_kube, churn, within=120)
    writer = threading.Thread(target=stream, daemon=True)
    writer.start()
    kills = 0
    try:
        for _ in range(10):
            time.sleep(rng.uniform(0.2, 2.0))  # a random moment: listing, writing, idle
            assert daemon.alive
            daemon.stop(signal.SIGKILL)
            kills += 1
            daemon = launch(ms.url, ready=False)
    finally:
        stop.set()
        writer.join(10)
    assert not errors, errors
    took = settle(ms, fake_kube, churn, within=120, poll=0.25)
    assert daemon.alive and healthz(daemon.url) == 200
    figures.update(
        transitions=churn.transitions,
        recreated=churn.recreated,
        sigkills=kills,
        settled_after_last_start_s=round(took, 1),
    )
