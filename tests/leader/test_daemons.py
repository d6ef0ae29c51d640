"""Two (then three) daemons with leader election, in their own processes, against the fake API
server and the reference Metadata Service: one leads and writes, a SIGKILLed leader is replaced
within the lease duration without missing what started meanwhile, a SIGTERMed leader drains,
releases, and hands over within 2 s."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from tests.daemon.objects import deployment, node
from tests.fakekube import FakeKube
from tests.leader.daemons import daemon_argv
from tests.leader.lease import holder, written_at
from tests.support.lateness import Lateness
from tests.support.processes import free_port, running, wait_until

pytest_plugins = ["tests.fakekube.fixtures"]

REPO = Path(__file__).resolve().parents[2]
LEASE_SECONDS = 2
# A daemon process takes seconds to start on a busy 2-core machine; deadlines only matter when
# something is wrong, so they are generous.
START_SECONDS = 60
WAIT_SECONDS = 30
PREFIX = "cluster1:workload:deployment:default:"


@dataclass
class Replica:
    identity: str
    process: subprocess.Popen[bytes]
    log: Path


@pytest.fixture
def metadata_service(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "kg_exporter.service", "--store", ":memory:"]
    argv += ["--listen", f"127.0.0.1:{port}"]
    with running(argv, ready_url=f"{url}/healthz", log=tmp_path / "metadata-service.log"):
        yield url


@pytest.fixture
def start(fake_kube: FakeKube, metadata_service: str, tmp_path: Path) -> Iterator[object]:
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "sink": {"url": metadata_service, "backoff_initial_seconds": 0.05},
                "leader": {
                    "enabled": True,
                    "namespace": "default",
                    "lease_duration_seconds": LEASE_SECONDS,
                    "renew_deadline_seconds": 1.5,
                    "retry_period_seconds": 0.2,
                },
                "daemon": {"drain_deadline_seconds": 2, "sink_probe_interval_seconds": 0.5},
            }
        )
    )
    replicas: list[Replica] = []

    def launch(identity: str) -> Replica:
        argv = daemon_argv(fake_kube.kubeconfig_path, config)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("KG_EXPORTER_")},
            "PYTHONPATH": str(REPO),
            "KG_EXPORTER_LEADER__IDENTITY": identity,
            "KG_EXPORTER_DAEMON__LISTEN": f"127.0.0.1:{free_port()}",
        }
        log = tmp_path / f"{identity}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(argv, cwd=REPO, env=env, stdout=out, stderr=out)
        replica = Replica(identity, process, log)
        replicas.append(replica)
        return replica

    try:
        yield launch
    finally:
        for replica in replicas:
            if replica.process.poll() is None:
                replica.process.kill()
            replica.process.wait(timeout=10)


def written(metadata_service: str) -> set[str]:
    ids = httpx.get(f"{metadata_service}/subgraph", params={"prefix": PREFIX}, timeout=5).json()
    return {i.removeprefix(PREFIX) for i in ids}


def status(metadata_service: str, name: str) -> tuple[str, str] | None:
    """(phase, uid) of a stored Deployment's subgraph."""
    response = httpx.get(f"{metadata_service}/subgraph/{PREFIX}{name}", timeout=5)
    if response.status_code == 404:
        return None
    found: dict[str, str] = {}
    for item in response.json().get("@graph", []):
        for field in ("kgx:phase", "kgx:uid"):
            if field in item:
                value = item[field]
                found[field] = str(value.get("@value") if isinstance(value, dict) else value)
    return found.get("kgx:phase", ""), found.get("kgx:uid", "")


def started(fake_kube: FakeKube, name: str) -> None:
    fake_kube.create(deployment(name))
    fake_kube.patch_status("Deployment", "default", name, {"replicas": 1, "availableReplicas": 1})


def test_one_daemon_leads_fail_over_misses_nothing_and_sigterm_hands_over_fast(
    fake_kube: FakeKube, metadata_service: str, start: object
) -> None:
    launch = start  # type: ignore[assignment]
    fake_kube.create(node("worker-1"))
    started(fake_kube, "before")
    a, b = launch("a"), launch("b")  # type: ignore[operator]
    wait_until(lambda: holder(fake_kube) in {"a", "b"}, timeout=START_SECONDS, what="a leader")
    wait_until(
        lambda: "before" in written(metadata_service), timeout=WAIT_SECONDS, what="first write"
    )
    leader, standby = (a, b) if holder(fake_kube) == "a" else (b, a)
    # The standby polling the lease (a daemon that starts late, seconds on a busy machine, counts
    # the lease duration from its first look), and a renewal well after it began.
    wait_until(
        lambda: b"waiting for leadership" in standby.log.read_bytes(),
        timeout=START_SECONDS,
        what="the standby",
    )
    since = time.time() + 1.0
    wait_until(
        lambda: (written_at(fake_kube, "renewTime")[1] or 0.0) > since,
        timeout=WAIT_SECONDS,
        what="a renewal the standby saw",
    )
    time.sleep(LEASE_SECONDS + 1)  # longer than a lease: the standby must keep waiting
    assert holder(fake_kube) == leader.identity

    with Lateness(probe=lambda: holder(fake_kube)) as late:
        leader.process.kill()
        killed = time.time()
        # Its last renewal as it wrote it: the lease stands still until the standby takes it.
        held_by, renewed = written_at(fake_kube, "renewTime")
        last_renewal = renewed if held_by == leader.identity and renewed is not None else killed
        started(fake_kube, "born-while-nobody-led")
        # Re-created under the same name while nobody led, not started: the new leader adopts
        # nothing from the graph for it — the instance the graph holds ended.
        old_uid = fake_kube.delete("Deployment", "default", "before")["metadata"]["uid"]
        fake_kube.create(deployment("before"))
        wait_until(
            lambda: holder(fake_kube) == standby.identity, timeout=WAIT_SECONDS, what="fail-over"
        )
    # From the dead leader's last renewal to the standby's acquisition, both as the daemons wrote
    # them: a lease duration, two polls and a busy machine's measured wake-up delays and API
    # server answers (the standby's read that saw the renewal, and the one that found it expired).
    _, acquired = written_at(fake_kube, "acquireTime")
    assert acquired is not None
    took = acquired - last_renewal
    bound = LEASE_SECONDS + 1.5 + 3 * late.worst + 2 * late.round_trip
    assert took < bound, (took, late.worst, late.round_trip)
    wait_until(
        lambda: "born-while-nobody-led" in written(metadata_service),
        timeout=WAIT_SECONDS,
        what="catch-up",
    )
    wait_until(
        lambda: status(metadata_service, "before") == ("stopped", old_uid),
        timeout=WAIT_SECONDS,
        what="the re-created workload's old instance stopped",
    )

    c = launch("c")  # type: ignore[operator]
    wait_until(
        lambda: b"waiting for leadership" in c.log.read_bytes(), timeout=START_SECONDS, what="c"
    )
    assert holder(fake_kube) == standby.identity
    with Lateness(probe=lambda: holder(fake_kube)) as late:
        standby.process.send_signal(signal.SIGTERM)
        signalled = time.time()  # after sending: a late test process only shortens the measure
        wait_until(lambda: holder(fake_kube) == "c", timeout=WAIT_SECONDS, what="hand-over")
    _, acquired = written_at(fake_kube, "acquireTime")
    assert acquired is not None
    handed_over = acquired - signalled  # c's own record of when it took the lease
    # drain (nothing queued) + release + one poll of c, plus the measured wake-up delays and API
    # server answers (the release, c's read)
    bound = 2.0 + 3 * late.worst + 2 * late.round_trip
    assert handed_over < bound, (handed_over, late.worst, late.round_trip)
    assert standby.process.wait(timeout=WAIT_SECONDS) == 0
    started(fake_kube, "after")
    wait_until(lambda: "after" in written(metadata_service), timeout=WAIT_SECONDS, what="c writes")
    assert c.process.poll() is None
