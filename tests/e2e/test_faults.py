"""End to end under faults: watch 410s and drops mid-stream, the daemon down while a workload is
deleted, the Metadata Service down while workloads start and stop, nodes joining and leaving."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

from tests.daemon.objects import deployment, node
from tests.e2e.stack import Daemon, MetadataService, eventually
from tests.fakekube import FakeKube

#: How long the Metadata Service stays down; CI runs the full 20 s.
OUTAGE_SECONDS = float(os.environ.get("KG_E2E_OUTAGE_SECONDS", "20"))


def wid(name: str, ns: str = "default") -> str:
    return f"cluster1:workload:deployment:{ns}:{name}"


def start(fake: FakeKube, name: str) -> None:
    fake.scale("Deployment", "default", name, 1)
    fake.patch_status("Deployment", "default", name, {"availableReplicas": 1})


def stop(fake: FakeKube, name: str) -> None:
    fake.scale("Deployment", "default", name, 0)
    fake.patch_status("Deployment", "default", name, {"availableReplicas": 0})


def test_410_and_dropped_watches_mid_stream_lose_no_start_or_stop(
    fake_kube: FakeKube, metadata_service: MetadataService, start_daemon: Callable[..., Daemon]
) -> None:
    """Each fault breaks the watches, and changes carry on while they are down. A workload changes
    at most once per gap (a start and a stop both inside one gap leave no trace in any list+watch
    client: only the latest state is knowable), so every start and stop must end up written."""
    ms = metadata_service
    daemon = start_daemon()
    names = [f"d{i:02d}" for i in range(26)]
    for name in names:
        fake_kube.create(deployment(name, replicas=0))
    expected: dict[str, str | None] = dict.fromkeys(names)

    def change(starting: range, stopping: range) -> None:
        for i in stopping:
            stop(fake_kube, names[i])
            expected[names[i]] = "stopped"
        for i in starting:
            start(fake_kube, names[i])
            expected[names[i]] = "running"

    def watching_again(before: int) -> None:
        eventually(
            lambda: fake_kube.request_count("watch") >= before + 6 and fake_kube.open_watches == 6,
            what="the watches are back",
        )

    change(starting=range(10), stopping=range(0))
    # Seen (and written) before the first gap, where three of them stop: a start and a stop
    # both inside one gap would leave nothing to know, however long the machine took.
    eventually(lambda: all(ms.phase(wid(names[i])) == "running" for i in range(10)))

    # A 410 on the reconnect: the daemon must relist.
    before = fake_kube.request_count("watch")
    fake_kube.fail_next_watches(1, 410, kind="deployments")
    fake_kube.drop_watches(abrupt=True)
    change(starting=range(10, 15), stopping=range(3))
    watching_again(before)

    # A plain drop: the daemon resumes from the last resourceVersion it saw.
    before = fake_kube.request_count("watch")
    fake_kube.drop_watches(abrupt=True)
    change(starting=range(15, 20), stopping=range(3, 6))
    watching_again(before)

    # Down while workloads are deleted, and the history compacted: only a relist can tell, and
    # what vanished must be stopped.
    before = fake_kube.request_count("watch")
    fake_kube.set_unavailable(True)
    for i in (6, 10):
        fake_kube.delete("Deployment", "default", names[i])
        expected[names[i]] = "stopped"
    fake_kube.compact()
    time.sleep(0.5)
    fake_kube.set_unavailable(False)
    change(starting=range(20, 25), stopping=range(11, 12))
    watching_again(before)
    change(starting=range(25, 26), stopping=range(12, 13))

    def settled() -> bool:
        return all(ms.phase(wid(n)) == phase for n, phase in expected.items())

    eventually(settled, within=60, what="every start and stop written")
    for name, phase in expected.items():
        status = ms.status(wid(name))
        if phase == "stopped":
            assert status is not None and status["glc:endTime"], name
    log = daemon.log_text()
    assert "relisting deployments after 410" in log
    assert "resuming from resourceVersion" in log
    assert "vanished while the watch was down; stopping Deployment/default/d06" in log


def test_a_workload_deleted_while_the_daemon_was_down_is_stopped_at_start(
    fake_kube: FakeKube, metadata_service: MetadataService, start_daemon: Callable[..., Daemon]
) -> None:
    ms = metadata_service
    for name in ("stays", "goes"):
        fake_kube.create(deployment(name))
        fake_kube.patch_status("Deployment", "default", name, {"availableReplicas": 1})
    first = start_daemon()
    eventually(lambda: ms.phase(wid("goes")) == "running" and ms.phase(wid("stays")) == "running")
    assert first.stop() == 0, "SIGTERM: drained and exited 0"
    fake_kube.delete("Deployment", "default", "goes")
    written = ms.writes()
    second = start_daemon()
    eventually(lambda: ms.phase(wid("goes")) == "stopped", what="goes stopped after restart")
    status = ms.status(wid("goes"))
    assert status is not None and status["glc:endTime"]
    time.sleep(0.5)
    assert ms.phase(wid("stays")) == "running"
    # Already written: the restart re-wrote only the stop (plus the glaciation node, ensured).
    assert ms.writes() - written <= 3
    assert "Deployment/default/goes was deleted while the daemon was down" in second.log_text()


def test_nodes_joining_and_leaving(
    fake_kube: FakeKube, metadata_service: MetadataService, start_daemon: Callable[..., Daemon]
) -> None:
    ms = metadata_service
    gnode = "cluster1:glaciation-node:glaciation-node1"
    fake_kube.create(node("n1"))
    start_daemon()
    eventually(lambda: ms.members(gnode) == ["n1"])
    assert ms.phase("cluster1:node:n1") == "running"
    assert "cluster1:node-telemetry:n1" in ms.ids("cluster1:node-telemetry:")
    assert "cluster1:glaciation-node-telemetry:glaciation-node1" in ms.ids("cluster1:glaciation")
    fake_kube.create(node("n2"))
    eventually(lambda: ms.members(gnode) == ["n1", "n2"])
    eventually(lambda: ms.phase("cluster1:node:n2") == "running")
    fake_kube.delete("Node", None, "n1")
    eventually(lambda: ms.members(gnode) == ["n2"])
    eventually(lambda: ms.phase("cluster1:node:n1") == "stopped")
    status = ms.status("cluster1:node:n1")
    assert status is not None and status["glc:endTime"]


class ReadyzSampler(threading.Thread):
    """Polls /readyz every 0.1 s, recording (monotonic time, status code)."""

    def __init__(self, daemon: Daemon) -> None:
        super().__init__(daemon=True)
        self.target = daemon
        self.samples: list[tuple[float, int]] = []
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            self.samples.append((time.monotonic(), self.target.readyz()))
            time.sleep(0.1)

    def between(self, start: float, end: float) -> list[int]:
        """The answers sampled in [start, end]; a request that got no answer in time (0: the
        machine was too busy to serve it within the client's timeout) says nothing either way."""
        return [code for when, code in self.samples if start <= when <= end and code]


def test_metadata_service_outage(
    fake_kube: FakeKube, metadata_service: MetadataService, start_daemon: Callable[..., Daemon]
) -> None:
    ms = metadata_service
    names = [f"w{i}" for i in range(8)]
    for name in names:
        fake_kube.create(deployment(name, replicas=0))
    for name in names[:4]:
        start(fake_kube, name)
    daemon = start_daemon()
    for name in names[:4]:
        eventually(lambda n=name: ms.phase(wid(n)) == "running")
    sampler = ReadyzSampler(daemon)
    sampler.start()
    try:
        time.sleep(1.0)
        down_at = time.monotonic()
        assert ms.stop() == 0
        # While it is down: starts, stops, a start-then-stop, a deletion, a brand new workload.
        expected = {
            "w0": "stopped",  # stopped
            "w1": "running",  # untouched
            "w2": "stopped",  # deleted
            "w3": "running",  # stopped, then started again
            "w4": "running",  # started
            "w5": "stopped",  # started, then stopped
            "w6": None,  # never started
            "w7": "running",  # started
            "fresh": "running",  # created and started
        }
        stop(fake_kube, "w0")
        fake_kube.delete("Deployment", "default", "w2")
        stop(fake_kube, "w3")
        start(fake_kube, "w4")
        start(fake_kube, "w5")
        time.sleep(OUTAGE_SECONDS / 2)
        start(fake_kube, "w3")
        stop(fake_kube, "w5")
        start(fake_kube, "w7")
        fake_kube.create(deployment("fresh"))
        start(fake_kube, "fresh")
        time.sleep(OUTAGE_SECONDS / 2)
        assert daemon.alive, "the daemon crashed while the sink was down"
        up_at = time.monotonic()
        ms.start()

        def settled() -> bool:
            return all(ms.phase(wid(n)) == phase for n, phase in expected.items())

        eventually(settled, within=60, what="the latest state of each workload")
        settled_at = time.monotonic()
        time.sleep(1.5)
    finally:
        sampler.halt.set()
        sampler.join(5)
    assert daemon.alive
    # /readyz told the truth: ready before; not ready from shortly after the service went down
    # (one probe interval plus the sink client's retries) until it came back; ready after.
    assert set(sampler.between(down_at - 1.0, down_at)) == {200}
    assert set(sampler.between(down_at + 4.0, up_at)) == {503}
    assert set(sampler.between(settled_at + 1.0, time.monotonic())) == {200}
    # Ready again within a few seconds of the service coming back — or, on a machine too busy
    # for that, at the latest once the store holds the latest state (its writes succeeded).
    ready_by = up_at + max(6.0, settled_at - up_at + 0.5)
    assert any(code == 200 for code in sampler.between(up_at, ready_by)), (
        "ready again once the service answers"
    )
    log = daemon.log_text()
    assert "Traceback" not in log
    assert "will retry Deployment/default/w" in log
    assert daemon.stop() == 0
