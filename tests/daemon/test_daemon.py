"""The daemon in process against the fake API server and an in-memory sink: what gets written,
when, and what does not; start-up adoption and reconciliation; readiness; shutdown."""

from __future__ import annotations

import asyncio
import logging

import pytest
from kubernetes_asyncio.client import ApiClient

from kg_exporter.identity import workload_subgraph_id
from kg_exporter.render.facts import Lifecycle
from kg_exporter.render.renderer import Renderer
from kg_exporter.state.lifecycle import Phase
from kg_exporter.state.workloads import WorkloadTable
from tests.daemon.fakes import FixedClock, MemorySink
from tests.daemon.harness import daemon_settings, eventually, running_daemon
from tests.daemon.objects import JOB_STARTED, deployment, job, job_finished, node, statefulset
from tests.fakekube import FakeKube


def started(table: WorkloadTable) -> int:
    """How many records the daemon has seen start (their status, not only their creation)."""
    return sum(1 for key in table if (record := table.get(key)) and record.graph is not None)


WEB = "cluster1:workload:deployment:default:web"
WEB_TELEMETRY = "cluster1:workload-telemetry:deployment:default:web"


async def test_writes_only_on_start_and_stop(fake_kube: FakeKube, api: ApiClient) -> None:
    sink, clock = MemorySink(), FixedClock()
    async with running_daemon(api, sink, clock=clock) as daemon:
        fake_kube.create(deployment("web"))
        await asyncio.sleep(0.3)
        await daemon.idle()
        assert sink.phase(WEB) is None, "no replica available yet: no write"
        clock.advance(60)
        fake_kube.patch_status("Deployment", "default", "web", {"availableReplicas": 1})
        await eventually(lambda: sink.phase(WEB) == "running")
        assert WEB_TELEMETRY in sink.store
        assert sink.status(WEB)["glc:startTime"]["@value"] == "2026-11-01T12:01:00.000Z"
        await daemon.idle()
        puts = len(sink.puts)
        for i in range(100):
            fake_kube.patch_status(
                "Deployment", "default", "web", {"availableReplicas": 1 + i % 3, "replicas": 3}
            )
        await asyncio.sleep(0.5)
        await daemon.idle()
        assert len(sink.puts) == puts, "status churn wrote something"
        clock.advance(60)
        fake_kube.scale("Deployment", "default", "web", 0)
        fake_kube.patch_status("Deployment", "default", "web", {"availableReplicas": 0})
        await eventually(lambda: sink.phase(WEB) == "stopped")
        assert sink.status(WEB)["glc:endTime"]["@value"] == "2026-11-01T12:02:00.000Z"
        clock.advance(60)
        fake_kube.scale("Deployment", "default", "web", 2)
        fake_kube.patch_status("Deployment", "default", "web", {"availableReplicas": 1})
        await eventually(lambda: sink.phase(WEB) == "running")
        status = sink.status(WEB)
        assert status["glc:startTime"]["@value"] == "2026-11-01T12:03:00.000Z"
        assert "glc:endTime" not in status
        assert await daemon.finish() == 0


async def test_jobs_and_statefulsets(fake_kube: FakeKube, api: ApiClient) -> None:
    sink = MemorySink()
    async with running_daemon(api, sink):
        for name in ("ok", "bad"):
            fake_kube.create(job(name))
            fake_kube.patch_status("Job", "default", name, JOB_STARTED)
        fake_kube.create(statefulset("db"))
        fake_kube.patch_status("StatefulSet", "default", "db", {"replicas": 1, "readyReplicas": 1})
        await eventually(lambda: sink.phase("cluster1:workload:job:default:bad") == "running")
        await eventually(
            lambda: sink.phase("cluster1:workload:statefulset:default:db") == "running"
        )
        fake_kube.patch_status("Job", "default", "ok", job_finished("succeeded"))
        fake_kube.patch_status("Job", "default", "bad", job_finished("failed"))
        fake_kube.delete("StatefulSet", "default", "db")
        for name, outcome in (("ok", "succeeded"), ("bad", "failed")):
            subgraph = f"cluster1:workload:job:default:{name}"
            await eventually(lambda s=subgraph: sink.phase(s) == "stopped")
            assert sink.status(subgraph)["kgx:outcome"] == outcome
            assert sink.status(subgraph)["glc:startTime"]["@value"] == "2026-11-01T10:00:00Z"
        await eventually(
            lambda: sink.phase("cluster1:workload:statefulset:default:db") == "stopped"
        )


async def test_start_up_keeps_what_is_already_written(
    fake_kube: FakeKube, api: ApiClient, renderer: Renderer
) -> None:
    sink = MemorySink()
    started = Lifecycle(Phase.RUNNING, "2026-10-01T00:00:00Z")
    for name in ("web", "was-running", "was-stopped"):
        obj = deployment(name)
        for subgraph in renderer.workload(obj, lifecycle=started):
            sink.store[subgraph.id] = subgraph.document
    stopped = Lifecycle(Phase.STOPPED, "2026-10-01T00:00:00Z", "2026-10-02T00:00:00Z")
    doc = renderer.workload(deployment("was-stopped"), lifecycle=stopped)[0]
    sink.store[doc.id] = doc.document
    fake_kube.create(deployment("web"))
    fake_kube.patch_status("Deployment", "default", "web", {"availableReplicas": 1})
    fake_kube.create(deployment("was-running", replicas=0))  # scaled to 0 while we were down
    fake_kube.create(deployment("was-stopped", replicas=0))
    fake_kube.create(deployment("never", replicas=0))
    async with running_daemon(api, sink) as daemon:
        await eventually(lambda: sink.phase(f"{WEB[:-3]}was-running") == "stopped")
        await daemon.idle()
        assert WEB not in sink.puts, "already running in the graph: not written again"
        assert sink.puts.count(f"{WEB[:-3]}was-running") == 1
        assert sink.status(f"{WEB[:-3]}was-running")["glc:startTime"]["@value"] == (
            "2026-10-01T00:00:00Z"
        )
        assert f"{WEB[:-3]}was-stopped" not in sink.puts
        assert f"{WEB[:-3]}never" not in sink.store, "never seen running: not written"
        # The adopted start time is kept when it stops later.
        fake_kube.delete("Deployment", "default", "web")
        await eventually(lambda: sink.phase(WEB) == "stopped")
        assert sink.status(WEB)["glc:startTime"]["@value"] == "2026-10-01T00:00:00Z"


async def test_reconcile_stops_what_was_deleted_while_down(
    fake_kube: FakeKube, api: ApiClient, renderer: Renderer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    sink = MemorySink()
    running = Lifecycle(Phase.RUNNING, "2026-10-01T00:00:00Z")
    for obj in (deployment("gone"), job("gone-job"), deployment("elsewhere", ns="other")):
        for subgraph in renderer.workload(obj, lifecycle=running):
            sink.store[subgraph.id] = subgraph.document
    for subgraph in renderer.node(node("old-node")):
        sink.store[subgraph.id] = subgraph.document
    fake_kube.create(node("n1"))
    settings = daemon_settings(namespaces=["default"])
    async with running_daemon(api, sink, settings=settings) as daemon:
        await eventually(
            lambda: sink.phase("cluster1:workload:deployment:default:gone") == "stopped"
        )
        await eventually(lambda: sink.phase("cluster1:workload:job:default:gone-job") == "stopped")
        await eventually(lambda: sink.phase("cluster1:node:old-node") == "stopped")
        await daemon.idle()
    assert sink.phase("cluster1:workload:deployment:other:elsewhere") == "running", "not watched"
    members = [
        n["kgx:name"]
        for n in sink.store["cluster1:glaciation-node:glaciation-node1"]["@graph"]
        if n.get("@type") == "k8s:Node"
    ]
    assert members == ["n1"]
    assert any(
        "Deployment/default/gone was deleted while the daemon was down: writing it as stopped"
        in r.getMessage()
        for r in caplog.records
    )


async def test_nodes_join_and_leave(fake_kube: FakeKube, api: ApiClient) -> None:
    sink = MemorySink()
    fake_kube.create(node("n1"))
    gnode = "cluster1:glaciation-node:glaciation-node1"

    def members() -> list[str]:
        graph = sink.store.get(gnode, {"@graph": []})["@graph"]
        return [n["kgx:name"] for n in graph if n.get("@type") == "k8s:Node"]

    async with running_daemon(api, sink):
        await eventually(lambda: members() == ["n1"])
        assert sink.phase("cluster1:node:n1") == "running"
        assert "cluster1:node-telemetry:n1" in sink.store
        assert "cluster1:glaciation-node-telemetry:glaciation-node1" in sink.store
        fake_kube.create(node("n2"))
        await eventually(lambda: members() == ["n1", "n2"])
        fake_kube.delete("Node", None, "n1")
        await eventually(lambda: members() == ["n2"])
        await eventually(lambda: sink.phase("cluster1:node:n1") == "stopped")


async def test_sink_outage_readiness_and_latest_state(fake_kube: FakeKube, api: ApiClient) -> None:
    sink = MemorySink()
    async with running_daemon(api, sink) as daemon:
        await eventually(lambda: daemon.daemon.health.ready)
        assert (await daemon.get("/readyz")).status_code == 200
        sink.down = True
        fake_kube.create(deployment("web"))
        fake_kube.patch_status("Deployment", "default", "web", {"availableReplicas": 1})
        fake_kube.create(deployment("brief"))
        fake_kube.patch_status("Deployment", "default", "brief", {"availableReplicas": 1})
        await eventually(lambda: not daemon.daemon.health.ready)
        response = await daemon.get("/readyz")
        assert response.status_code == 503
        assert "sink failing" in response.json()["reasons"][0]
        fake_kube.delete("Deployment", "default", "brief")  # started and stopped while down
        await asyncio.sleep(0.5)
        assert (await daemon.get("/readyz")).status_code == 503
        assert (await daemon.get("/healthz")).status_code == 200
        sink.down = False
        await eventually(lambda: daemon.daemon.health.ready)
        await eventually(lambda: sink.phase(WEB) == "running")
        await eventually(
            lambda: sink.phase("cluster1:workload:deployment:default:brief") == "stopped"
        )
        await daemon.idle()
        assert (await daemon.get("/readyz")).status_code == 200
        assert sink.max_in_flight_per_id <= 1


async def test_readyz_waits_for_the_initial_listing(fake_kube: FakeKube, api: ApiClient) -> None:
    fake_kube.fail_next_requests(100, 500, verb="list")
    sink = MemorySink()
    async with running_daemon(api, sink, synced=False) as daemon:
        await eventually(lambda: daemon.daemon.server.url != "")
        await asyncio.sleep(0.3)
        response = await daemon.get("/readyz")
        assert response.status_code == 503
        assert "initial listing not finished" in response.json()["reasons"]
        fake_kube.fail_next_requests(0)
        await daemon.finish()


async def test_sigterm_drains_within_the_deadline(
    fake_kube: FakeKube, api: ApiClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    sink = MemorySink()
    settings = daemon_settings(daemon={"workers": 2, "drain_deadline_seconds": 5.0})
    async with running_daemon(api, sink, settings=settings) as daemon:
        await daemon.idle()
        sink.delay = 0.05
        for i in range(20):
            fake_kube.create(deployment(f"d{i}"))
            fake_kube.patch_status("Deployment", "default", f"d{i}", {"availableReplicas": 1})
        # Every start seen (not merely every object: a record can exist before its status
        # patch arrives, and a drain only owes what the daemon has seen).
        await eventually(lambda: started(daemon.daemon.workloads) == 20)
        assert await daemon.finish() == 0
    assert all(sink.phase(f"cluster1:workload:deployment:default:d{i}") for i in range(20))
    assert any(r.getMessage() == "drained: every queued key is written" for r in caplog.records)


async def test_drain_gives_up_at_the_deadline_and_still_exits_0(
    fake_kube: FakeKube, api: ApiClient, caplog: pytest.LogCaptureFixture
) -> None:
    sink = MemorySink()
    settings = daemon_settings(daemon={"drain_deadline_seconds": 0.5})
    async with running_daemon(api, sink, settings=settings) as daemon:
        await daemon.idle()
        sink.down = True
        fake_kube.create(deployment("web"))
        fake_kube.patch_status("Deployment", "default", "web", {"availableReplicas": 1})
        await eventually(lambda: daemon.daemon.queue.waiting == 1)
        started = asyncio.get_running_loop().time()
        assert await daemon.finish() == 0
        assert asyncio.get_running_loop().time() - started < 3
    assert any(
        "drain deadline of 0.5 s passed with 1 keys not written" in r.getMessage()
        for r in caplog.records
    )


async def test_a_rejected_workload_is_retried_until_accepted_and_never_holds_up_a_drain(
    fake_kube: FakeKube, api: ApiClient, caplog: pytest.LogCaptureFixture
) -> None:
    """400 for one workload: retried with its own capped backoff, each attempt one ERROR line and
    counted; once the service accepts it, its latest state is written. On SIGTERM a key still
    refused does not keep the daemon waiting for the drain deadline."""
    sink = MemorySink()
    settings = daemon_settings(
        daemon={"rejected_retry_max_seconds": 0.1, "drain_deadline_seconds": 5.0}
    )
    async with running_daemon(api, sink, settings=settings) as daemon:
        await daemon.idle()
        sink.reject = {WEB}
        fake_kube.create(deployment("web"))
        fake_kube.patch_status("Deployment", "default", "web", {"availableReplicas": 1})
        fake_kube.create(deployment("db"))
        fake_kube.patch_status("Deployment", "default", "db", {"availableReplicas": 1})
        await eventually(lambda: sink.phase("cluster1:workload:deployment:default:db") == "running")

        def steps() -> list[str]:
            return [
                r.getMessage()
                for r in caplog.records
                if r.levelno == logging.ERROR
                and r.getMessage().startswith("rejected Deployment/default/web (HTTP 400: ")
            ]

        await eventually(lambda: len(steps()) >= 4, what="four attempts")
        fake_kube.scale("Deployment", "default", "web", 0)
        fake_kube.patch_status("Deployment", "default", "web", {"availableReplicas": 0})
        await asyncio.sleep(0.3)
        sink.reject = set()
        await eventually(lambda: sink.phase(WEB) == "stopped")
        await daemon.idle()
        metrics = daemon.daemon.metrics
        lines = steps()
        assert [int(m.rsplit("(failure ", 1)[1].rstrip(")")) for m in lines] == list(
            range(1, len(lines) + 1)
        )
        assert metrics.retries.labels("rejected")._value.get() == len(lines)
        assert metrics.writes.labels("workload", "rejected")._value.get() == len(lines)

        sink.reject = {"cluster1:workload:deployment:default:db"}
        fake_kube.scale("Deployment", "default", "db", 0)
        fake_kube.patch_status("Deployment", "default", "db", {"availableReplicas": 0})
        await eventually(lambda: daemon.daemon.queue.waiting == 1)
        started = asyncio.get_running_loop().time()
        assert await daemon.finish() == 0
        assert asyncio.get_running_loop().time() - started < 2
    assert any("not retried: shutting down" in r.getMessage() for r in caplog.records)


async def test_metrics(fake_kube: FakeKube, api: ApiClient) -> None:
    sink = MemorySink()
    async with running_daemon(api, sink) as daemon:
        # Watching first: an empty store lists at resourceVersion 0, and a watch from 0 starts
        # with the current state (ADDED only), as the API server does.
        # Deployments, StatefulSets, Jobs, DaemonSets, CronJobs and Nodes (no CRD of the other
        # bundled kinds is installed here).
        await eventually(lambda: fake_kube.open_watches == 6)
        fake_kube.create(deployment("web"))
        fake_kube.patch_status("Deployment", "default", "web", {"availableReplicas": 1})
        await eventually(lambda: sink.phase(WEB) == "running")
        await daemon.idle()
        text = (await daemon.get("/metrics")).text
    for line in (
        'kg_exporter_watch_events_total{kind="Deployment",type="ADDED"} 1.0',
        'kg_exporter_watch_events_total{kind="Deployment",type="MODIFIED"} 1.0',
        'kg_exporter_lifecycle_transitions_total{kind="Deployment",phase="running"} 1.0',
        'kg_exporter_writes_total{outcome="created",subgraph_kind="workload"} 1.0',
        'kg_exporter_writes_total{outcome="created",subgraph_kind="workload-telemetry"} 1.0',
        'kg_exporter_write_duration_seconds_count{subgraph_kind="workload"} 1.0',
        'kg_exporter_queue_depth{state="ready"} 0.0',
        'kg_exporter_tracked_objects{kind="Deployment"} 1.0',
        "kg_exporter_ready 1.0",
    ):
        assert line in text, line
    assert "kg_exporter_last_successful_write_timestamp_seconds" in text
    assert "kg_exporter_watch_restarts_total" in text or "kg_exporter_watch_restarts" in text
    assert "kg_exporter_queue_retries" in text


def test_subgraph_ids_used_here() -> None:
    from kg_exporter.identity import ObjectKey

    assert workload_subgraph_id("cluster1", ObjectKey("Deployment", "default", "web")) == WEB


async def test_start_up_reads_back_only_what_is_stored(
    fake_kube: FakeKube, api: ApiClient, renderer: Renderer
) -> None:
    sink = MemorySink()
    for subgraph in renderer.workload(
        deployment("web"), lifecycle=Lifecycle(Phase.RUNNING, "2026-10-01T00:00:00Z")
    ):
        sink.store[subgraph.id] = subgraph.document
    for name in ("web", "new-1", "new-2"):
        fake_kube.create(deployment(name))
        fake_kube.patch_status("Deployment", "default", name, {"availableReplicas": 1})
    fake_kube.create(deployment("zero", replicas=0))
    async with running_daemon(api, sink) as daemon:
        await eventually(lambda: sink.phase(f"{WEB[:-3]}new-2") == "running")
        await daemon.idle()
    assert sink.calls["get"] == 1, "only the stored workload is read back"
    assert sorted(i for i in sink.puts if ":workload:" in i) == [
        f"{WEB[:-3]}new-1",
        f"{WEB[:-3]}new-2",
    ]
    assert f"{WEB[:-3]}zero" not in sink.store
