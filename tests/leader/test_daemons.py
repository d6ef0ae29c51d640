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
from tests.support.processes import free_port, running, wait_until

pytest_plugins = ["tests.fakekube.fixtures"]

REPO = Path(__file__).resolve().parents[2]
LEASE_SECONDS = 2
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


def holder(fake_kube: FakeKube) -> str:
    lease = fake_kube.get("leases", "default", "kg-exporter")
    return "" if lease is None else str(lease["spec"].get("holderIdentity") or "")


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
    wait_until(lambda: holder(fake_kube) in {"a", "b"}, timeout=20, what="a leader")
    wait_until(lambda: "before" in written(metadata_service), timeout=10, what="first write")
    leader, standby = (a, b) if holder(fake_kube) == "a" else (b, a)
    time.sleep(LEASE_SECONDS + 1)  # longer than a lease: the standby must keep waiting
    assert holder(fake_kube) == leader.identity

    leader.process.kill()
    killed = time.monotonic()
    started(fake_kube, "born-while-nobody-led")
    # Re-created under the same name while nobody led, not started: the new leader adopts
    # nothing from the graph for it — the instance the graph holds ended.
    old_uid = fake_kube.delete("Deployment", "default", "before")["metadata"]["uid"]
    fake_kube.create(deployment("before"))
    wait_until(lambda: holder(fake_kube) == standby.identity, timeout=10, what="fail-over")
    took = time.monotonic() - killed
    assert took < LEASE_SECONDS + 1.5
    wait_until(
        lambda: "born-while-nobody-led" in written(metadata_service), timeout=10, what="catch-up"
    )
    wait_until(
        lambda: status(metadata_service, "before") == ("stopped", old_uid),
        timeout=10,
        what="the re-created workload's old instance stopped",
    )

    c = launch("c")  # type: ignore[operator]
    wait_until(lambda: b"waiting for leadership" in c.log.read_bytes(), timeout=10, what="c")
    assert holder(fake_kube) == standby.identity
    standby.process.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    wait_until(lambda: holder(fake_kube) == "c", timeout=10, what="hand-over")
    handed_over = time.monotonic() - signalled
    assert handed_over < 2.0  # drain (nothing queued) + release + one poll of c
    assert standby.process.wait(timeout=10) == 0
    started(fake_kube, "after")
    wait_until(lambda: "after" in written(metadata_service), timeout=10, what="c writes")
    assert c.process.poll() is None
