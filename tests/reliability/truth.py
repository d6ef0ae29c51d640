"""Ground truth and a seeded stream of lifecycle changes.

A :class:`Churn` owns a population of Deployments, Jobs and (optionally) StatefulSets and Nodes in
FakeKube, all started (and written) first, then drives random starts, stops, deletions, Job
completions, nodes leaving and joining and (with ``recreations``) workloads deleted and created
again under the same name through FakeKube. Since every object was running once — and written:
a test must :func:`settle` before its changes begin, because a workload whose start no daemon
ever wrote and that stopped while no daemon watched leaves no trace anywhere (see
docs/reliability.md) — the fake API's final state alone says what the Metadata Service must hold:
a Deployment with an available replica (a StatefulSet with a ready one) is running, any other
(scaled to 0, deleted, or re-created and not started yet) is stopped; a Job is running until it
completes, then stopped with its outcome (a re-run: the new run's); a Node is running while it
exists, stopped once it left, and the glaciation node lists exactly the nodes that exist. :func:`compare` checks every stored workload and node subgraph against that, exactly: no
extra, none missing, none stale.
"""

from __future__ import annotations

import random
import re
import time
from pathlib import Path

import httpx

from tests.daemon.objects import JOB_STARTED, deployment, job, job_finished, node, statefulset
from tests.e2e.stack import MetadataService
from tests.fakekube import FakeKube

PREFIX = "cluster1:workload:"
NODE_PREFIX = "cluster1:node:"
GNODE = "cluster1:glaciation-node:glaciation-node1"


def dep_id(name: str) -> str:
    return f"{PREFIX}deployment:default:{name}"


def telemetry_id(name: str) -> str:
    """The workload-telemetry subgraph of Deployment ``name``."""
    return f"cluster1:workload-telemetry:deployment:default:{name}"


def job_id(name: str) -> str:
    return f"{PREFIX}job:default:{name}"


def sts_id(name: str) -> str:
    return f"{PREFIX}statefulset:default:{name}"


def node_id(name: str) -> str:
    return f"{NODE_PREFIX}{name}"


#: Per workload kind: its replica count that means started, and its subgraph id.
_REPLICAS = {"Deployment": "availableReplicas", "StatefulSet": "readyReplicas"}


class Churn:
    def __init__(
        self,
        fake: FakeKube,
        *,
        deployments: int,
        jobs: int = 0,
        statefulsets: int = 0,
        nodes: int = 0,
        seed: int = 1,
        recreations: bool = False,
    ) -> None:
        self.fake = fake
        self.rng = random.Random(seed)
        self.deployments = [f"d{i:04d}" for i in range(deployments)]
        self.jobs = [f"j{i:04d}" for i in range(jobs)]
        self.statefulsets = [f"s{i:04d}" for i in range(statefulsets)]
        self.nodes = [f"n{i:03d}" for i in range(nodes)]
        self.live = set(self.deployments) | set(self.statefulsets)
        self.running = set(self.live)
        self.open_jobs = set(self.jobs)
        self.present_nodes = set(self.nodes)
        #: Also delete workloads and create them again at once under the same name (a new uid),
        #: started or not: ``kubectl replace --force``, a Helm reinstall, a Job re-run.
        self.recreations = recreations
        self.recreated = 0
        self.transitions = 0

    def kind(self, name: str) -> str:
        return "StatefulSet" if name.startswith("s") else "Deployment"

    def create_all(self) -> None:
        for name in self.nodes:
            self.fake.create(node(name))
        for name in self.deployments:
            self.fake.create(deployment(name))
            self.fake.patch_status("Deployment", "default", name, {"availableReplicas": 1})
        for name in self.statefulsets:
            self.fake.create(statefulset(name))
            self.fake.patch_status(
                "StatefulSet", "default", name, {"replicas": 1, "readyReplicas": 1}
            )
        for name in self.jobs:
            self.fake.create(job(name))
            self.fake.patch_status("Job", "default", name, JOB_STARTED)

    def step(self) -> None:
        """One lifecycle transition, chosen at random."""
        if self.nodes and self.rng.random() < 0.05:
            # A node leaves, or one that left joins again (never fewer than half).
            gone = sorted(set(self.nodes) - self.present_nodes)
            if gone and (
                len(self.present_nodes) <= len(self.nodes) // 2 or self.rng.random() < 0.5
            ):
                name = self.rng.choice(gone)
                self.fake.create(node(name))
                self.present_nodes.add(name)
            else:
                name = self.rng.choice(sorted(self.present_nodes))
                self.fake.delete("Node", None, name)
                self.present_nodes.discard(name)
            self.transitions += 1
            return
        roll = self.rng.random()
        if self.recreations and roll >= 0.92:
            self._recreate()
        elif self.open_jobs and roll < 0.05:
            name = self.rng.choice(sorted(self.open_jobs))
            outcome = self.rng.choice(["succeeded", "failed"])
            self.fake.patch_status("Job", "default", name, job_finished(outcome))
            self.open_jobs.discard(name)
        elif len(self.live) > (len(self.deployments) + len(self.statefulsets)) // 2 and roll < 0.07:
            name = self.rng.choice(sorted(self.live))
            self.fake.delete(self.kind(name), "default", name)
            self.live.discard(name)
            self.running.discard(name)
        else:
            name = self.rng.choice(sorted(self.live))
            kind = self.kind(name)
            replicas = 0 if name in self.running else 1
            self.fake.scale(kind, "default", name, replicas)
            status = {"replicas": replicas, _REPLICAS[kind]: replicas}
            self.fake.patch_status(kind, "default", name, status)
            if replicas:
                self.running.add(name)
            else:
                self.running.discard(name)
        self.transitions += 1

    def _recreate(self) -> None:
        """Delete one workload (a live Deployment/StatefulSet, or any Job) and create it again
        under the same name: started at once or not (a Job: running, or already ended)."""
        name = self.rng.choice(sorted(self.live) + self.jobs)
        started = self.rng.random() < 0.5
        if name in self.jobs:
            self.fake.delete("Job", "default", name)
            self.fake.create(job(name))
            if started:
                self.fake.patch_status("Job", "default", name, JOB_STARTED)
                self.open_jobs.add(name)
            else:
                outcome = self.rng.choice(["succeeded", "failed"])
                self.fake.patch_status("Job", "default", name, job_finished(outcome))
                self.open_jobs.discard(name)
        else:
            kind = self.kind(name)
            self.fake.delete(kind, "default", name)
            self.fake.create(statefulset(name) if kind == "StatefulSet" else deployment(name))
            if started:
                self.fake.patch_status(kind, "default", name, {"replicas": 1, _REPLICAS[kind]: 1})
                self.running.add(name)
            else:
                # Created, not started: the old instance ended, the new one has nothing to say.
                self.running.discard(name)
        self.recreated += 1

    def run(self, count: int, *, over: float = 0.0) -> None:
        """``count`` transitions, spread evenly over ``over`` seconds."""
        start = time.monotonic()
        for i in range(count):
            self.step()
            if over:
                lag = start + over * (i + 1) / count - time.monotonic()
                if lag > 0:
                    time.sleep(lag)


def ground_truth(fake: FakeKube, churn: Churn) -> dict[str, tuple[str, str | None]]:
    """Subgraph id → (phase, outcome) implied by the fake API's final state alone."""
    expected: dict[str, tuple[str, str | None]] = {}
    present = {o["metadata"]["name"]: o for o in fake.list_objects("Deployment", "default")}
    for name in churn.deployments:
        obj = present.get(name)
        available = (obj or {}).get("status", {}).get("availableReplicas") or 0
        expected[dep_id(name)] = ("running" if available >= 1 else "stopped", None)
    sets = {o["metadata"]["name"]: o for o in fake.list_objects("StatefulSet", "default")}
    for name in churn.statefulsets:
        ready = (sets.get(name) or {}).get("status", {}).get("readyReplicas") or 0
        expected[sts_id(name)] = ("running" if ready >= 1 else "stopped", None)
    nodes = {o["metadata"]["name"] for o in fake.list_objects("Node", None)}
    for name in churn.nodes:
        expected[node_id(name)] = ("running" if name in nodes else "stopped", None)
    jobs = {o["metadata"]["name"]: o for o in fake.list_objects("Job", "default")}
    for name in churn.jobs:
        conditions = (jobs.get(name) or {}).get("status", {}).get("conditions") or []
        done = {c["type"] for c in conditions if c.get("status") == "True"}
        if "Complete" in done:
            expected[job_id(name)] = ("stopped", "succeeded")
        elif "Failed" in done or name not in jobs:
            expected[job_id(name)] = ("stopped", "failed" if "Failed" in done else None)
        else:
            expected[job_id(name)] = ("running", None)
    return expected


def stored(ms: MetadataService, token: str | None = None) -> dict[str, tuple[str, str | None]]:
    """Every stored workload subgraph → (phase, outcome), read back over HTTP."""
    out: dict[str, tuple[str, str | None]] = {}
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=ms.url, timeout=10, headers=headers, verify=ms.verify) as client:
        ids = [
            *client.get("/subgraph", params={"prefix": PREFIX}).json(),
            *client.get("/subgraph", params={"prefix": NODE_PREFIX}).json(),
        ]
        for sid in ids:
            document = client.get(f"/subgraph/{sid}").json()
            for node in document.get("@graph", []):
                if "kgx:phase" in node:
                    outcome = node.get("kgx:outcome")
                    if isinstance(outcome, dict):
                        outcome = outcome.get("@value")
                    phase = node["kgx:phase"]
                    phase = phase.get("@value", phase) if isinstance(phase, dict) else phase
                    out[sid] = (str(phase), outcome)
    return out


def compare(
    ms: MetadataService,
    fake: FakeKube,
    churn: Churn,
    ignore: frozenset[str] = frozenset(),
    token: str | None = None,
) -> list[str]:
    """The differences between the store and the ground truth (empty when exact)."""
    want = ground_truth(fake, churn)
    have = stored(ms, token)
    diffs = []
    for sid in sorted((set(want) | set(have)) - ignore):
        if want.get(sid) != have.get(sid):
            diffs.append(f"{sid}: stored {have.get(sid)}, truth {want.get(sid)}")
    if churn.nodes:
        members = sorted(o["metadata"]["name"] for o in fake.list_objects("Node", None))
        assert token is None, "node checks read the glaciation node without a token"
        listed = ms.members(GNODE)
        if listed != members:
            diffs.append(f"{GNODE}: lists {listed}, truth {members}")
    return diffs


def settle(
    ms: MetadataService,
    fake: FakeKube,
    churn: Churn,
    *,
    within: float,
    poll: float = 0.5,
    ignore: frozenset[str] = frozenset(),
    token: str | None = None,
) -> float:
    """Wait until the store equals the ground truth; the seconds it took. Fails with the diff."""
    start = time.monotonic()
    diffs: list[str] = ["not checked"]
    while time.monotonic() - start < within:
        try:
            diffs = compare(ms, fake, churn, ignore, token)
        except httpx.HTTPError as exc:
            diffs = [repr(exc)]
        if not diffs:
            return time.monotonic() - start
        time.sleep(poll)
    raise AssertionError(
        f"not exact after {within} s: {len(diffs)} differences, e.g.\n" + "\n".join(diffs[:20])
    )


def vm_hwm_mib(pid: int) -> float:
    """Peak resident set of a process (VmHWM), MiB."""
    text = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmHWM:\s+(\d+) kB", text, re.M)
    assert match, text
    return round(int(match.group(1)) / 1024, 1)


def metric(url: str, name: str, **labels: str) -> float:
    """Sum of the samples of ``name`` on a Prometheus /metrics page matching ``labels``."""
    total = 0.0
    for line in httpx.get(url + "/metrics", timeout=5).text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def healthz(url: str) -> int:
    try:
        return httpx.get(url + "/healthz", timeout=2).status_code
    except httpx.HTTPError:
        return 0
