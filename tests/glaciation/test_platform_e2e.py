"""End to end with the real GLACIATION Metadata Service: ``kg-exporter run`` with the profile on
(``glaciation.subgraphs: false``: the snapshot alone), FakeKube for the cluster, a real Prometheus
scraping a test exporter that serves the series the published exporter's own measurement
configuration queries (its config.yaml, used unchanged). Then SPARQL through the service's API,
selected the way the platform's readers select: ``^timestamp:`` graphs, the newest one, or those in
a time window.

One service, Prometheus, cluster and daemon for the module (the service takes seconds to start).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry, start_http_server

from kg_exporter.glaciation.measurements import (
    MeasurementConfig,
    MeasurementQuery,
    load_measurements,
    parse_measurements,
)
from kg_exporter.glaciation.metrics import GlaciationMetrics
from kg_exporter.glaciation.sampler import Sampler
from kg_exporter.identity import SUBGRAPH_GRAPH_PREFIX
from kg_exporter.read.prometheus import PrometheusClient
from kg_exporter.sink.glaciation import DIGEST
from tests.daemon.objects import deployment, node
from tests.e2e.stack import Process, run_argv
from tests.fakekube import FakeKube
from tests.glaciation import exporter
from tests.glaciation.peers import EXPORTER_CONFIG, require
from tests.glaciation.service import GlaciationService
from tests.support.processes import free_port, wait_until
from tests.support.prometheus import Prometheus, start_prometheus

pytestmark = pytest.mark.prometheus

NODES = ("worker-a", "worker-b")
PODS = (("shop", "web-5d4f7c9b8-abcde"), ("shop", "web-5d4f7c9b8-fghij"), ("batch", "etl-0"))
BASE = "https://kubernetes.local/#"


def pod(namespace: str, name: str, node_name: str, owner: dict[str, str] | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if owner is not None:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "uid": "u1", **owner}]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": {
            "nodeName": node_name,
            "containers": [
                {
                    "name": "main",
                    "image": "busybox:1.36",
                    "resources": {"requests": {"cpu": "250m", "memory": "64Mi"}},
                }
            ],
        },
    }


def running(name: str) -> dict[str, Any]:
    return {
        "phase": "Running",
        "startTime": "2026-12-01T10:00:00Z",
        "containerStatuses": [
            {
                "name": "main",
                "containerID": f"containerd://{name}",
                "image": "busybox:1.36",
                "imageID": "busybox",
                "ready": True,
                "restartCount": 0,
                "state": {"running": {"startedAt": "2026-12-01T10:00:01Z"}},
            }
        ],
    }


def worker(name: str) -> dict[str, Any]:
    obj = node(name)
    obj["status"]["allocatable"] = {"cpu": "3500m", "memory": "15Gi", "ephemeral-storage": "100Gi"}
    obj["metadata"]["annotations"] = {"glaciation-project.eu/node-energy-index": "7"}
    return obj


def start_daemon(workdir: Path, fake: FakeKube, config: dict[str, Any]) -> Process:
    """``kg-exporter run`` with ``config``; ready when /readyz answers 200."""
    port = free_port()
    config = {**config, "daemon": {"listen": f"127.0.0.1:{port}"}}
    config_path = workdir / f"daemon-{port}.yaml"
    config_path.write_text(yaml.safe_dump(config))
    daemon = Process(
        "kg-exporter run",
        run_argv(config_path, fake.kubeconfig_path),
        url=f"http://127.0.0.1:{port}",
        log=workdir / f"daemon-{port}.log",
        ready_path="/readyz",
    )
    daemon.start()
    return daemon


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, glaciation_service: GlaciationService
) -> Iterator[Stack]:
    config_file = require(EXPORTER_CONFIG)
    workdir = tmp_path_factory.mktemp("glaciation-e2e")
    port = free_port()
    server, thread = start_http_server(
        port, addr="127.0.0.1", registry=exporter.registry_for(exporter.Subjects(NODES, PODS))
    )
    try:
        with (
            start_prometheus(workdir, [f"127.0.0.1:{port}"]) as prometheus,
            FakeKube() as fake,
        ):
            for name in NODES:
                fake.create(worker(name))
            fake.create(deployment("web", "shop"))
            owner = {"kind": "ReplicaSet", "name": "web-5d4f7c9b8"}
            for (namespace, name), node_name in zip(PODS, (*NODES, NODES[0]), strict=True):
                fake.create(
                    pod(namespace, name, node_name, owner if name.startswith("web") else None)
                )
                fake.patch_status("Pod", namespace, name, running(name))
            # Both sinks from one daemon: the design's subgraphs go to the same service.
            daemon = start_daemon(
                workdir,
                fake,
                {
                    "prometheus_url": prometheus.url,
                    "sink": {"kind": "glaciation", "url": glaciation_service.url},
                    "glaciation": {
                        "enabled": True,
                        "url": glaciation_service.url,
                        "measurements_file": str(config_file),
                        "interval_seconds": 1.0,
                        "cluster_name": "e2e",
                    },
                },
            )
            try:
                yield Stack(
                    glaciation_service, fake, prometheus, load_measurements(config_file), workdir
                )
            finally:
                assert daemon.stop() == 0, daemon.log_text()[-5000:]
    finally:
        server.shutdown()
        thread.join()


@dataclass(frozen=True)
class Stack:
    service: GlaciationService
    fake: FakeKube
    prometheus: Prometheus
    config: MeasurementConfig
    workdir: Path

    def evaluated(self, query: MeasurementQuery, resource: str, timestamp_ms: int) -> float:
        """What Prometheus itself answers for ``query`` and ``resource`` at that time: a rate
        over 5m of a series only seconds old is far below its per-second growth, so rates are
        checked against Prometheus, gauges against the served value."""
        now = timestamp_ms / 1000
        answer = self.prometheus.query_at(query.promql(now), now)
        values = [float(r["value"][1]) for r in answer if r["metric"].get("resource") == resource]
        assert len(values) == 1, answer
        return values[0]


def newest(service: GlaciationService) -> str | None:
    """The newest ``^timestamp:`` graph, as a reader takes it; None before the first snapshot
    (the daemon is ready before it has written one, and a loaded machine makes that gap long)."""
    graphs = service.snapshot_graphs()
    return max(graphs, key=graphs.__getitem__) if graphs else None


def node_measurements(service: GlaciationService, graph_filter: str) -> list[dict[str, Any]]:
    """Every worker node and its measurements (on it or its sub-resources), as a reader asks."""
    return service.select(
        f"""
        PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
        SELECT ?g ?node ?desc ?value ?ts ?unit WHERE {{
          GRAPH ?g {{
            ?node a <glc:WorkProducingResource> ; <glc:hasDescription> "KubernetesWorkerNode" .
            {{ ?node <glc:hasMeasurement> ?m }}
            UNION {{ ?node <glc:hasSubResource> ?sub . ?sub <glc:hasMeasurement> ?m }}
            ?m <glc:hasDescription> ?desc ; <glc:hasValue> ?value ; <glc:hasTimestamp> ?ts ;
               <glc:measuredIn> ?unit .
          }}
          {graph_filter}
        }}"""
    )


def test_every_node_with_its_measurements_in_the_newest_snapshot(stack: Stack) -> None:
    service = stack.service
    wanted = {
        "CPU.Capacity",
        "RAM.Capacity",
        "Storage.Capacity",
        "Energy.Index",
        "RAM.Available",
        "Storage.Available",
        "CPU.Available",
    }

    # The newest snapshot as a reader takes it, once one holds everything (a snapshot may lack a
    # measurement whose query timed out on a loaded machine: that costs only the measurement).
    complete: list[list[dict[str, Any]]] = []

    def newest_is_complete() -> bool:
        graph = newest(service)
        if graph is None:
            return False
        rows = node_measurements(service, f"FILTER(?g = <{graph}>)")
        found = {(r["node"]["value"], r["desc"]["value"]) for r in rows}
        if all((BASE + n, d) in found for n in NODES for d in wanted):
            complete.append(rows)
        return bool(complete)

    wait_until(newest_is_complete, timeout=120, what="a snapshot with every node's measurements")
    (rows,) = complete
    values = {(r["node"]["value"], r["desc"]["value"]): float(r["value"]["value"]) for r in rows}
    stamps = {(r["node"]["value"], r["desc"]["value"]): int(r["ts"]["value"]) for r in rows}
    (cpu,) = [q for q in stack.config.node_queries if q.property == "CPU.Available"]
    for name in NODES:
        n = BASE + name
        assert values[(n, "CPU.Capacity")] == 3.5
        assert values[(n, "RAM.Capacity")] == 15 * 2**30
        assert values[(n, "Energy.Index")] == 7
        assert values[(n, "RAM.Available")] == exporter.NODE_MEMORY_FREE
        assert values[(n, "Storage.Available")] == exporter.NODE_STORAGE_AVAILABLE
        served = stack.evaluated(cpu, name, stamps[(n, "CPU.Available")])
        assert served > 0
        assert values[(n, "CPU.Available")] == pytest.approx(served, rel=1e-9)


def test_every_running_pod_with_its_node_and_values(stack: Stack) -> None:
    service = stack.service

    def pods(graph: str) -> dict[str, dict[str, Any]]:
        rows = service.select(
            f"""
            SELECT ?pod ?node ?desc ?value ?ts WHERE {{
              GRAPH ?g {{
                ?pod <glc:hasDescription> "Pod" ; <glc:consumes> ?node ; <glc:hasStatus> ?status .
                ?status <glc:hasDescription> "Running" .
                OPTIONAL {{ ?pod <glc:hasMeasurement> ?m . ?m <glc:hasDescription> ?desc ;
                            <glc:hasValue> ?value ; <glc:hasTimestamp> ?ts }}
              }}
              FILTER(?g = <{graph}>)
            }}"""
        )
        found: dict[str, dict[str, Any]] = {}
        for r in rows:
            entry = found.setdefault(r["pod"]["value"], {"node": r["node"]["value"]})
            if "desc" in r:
                entry[r["desc"]["value"]] = float(r["value"]["value"])
                entry[r["desc"]["value"] + "@"] = int(r["ts"]["value"])
        return found

    complete: list[dict[str, dict[str, Any]]] = []

    def newest_is_complete() -> bool:
        graph = newest(service)
        if graph is None:
            return False
        found = pods(graph)
        wanted = ("Storage.Usage", "CPU.Usage")
        if all(all(d in found.get(f"{BASE}{ns}.{p}", {}) for d in wanted) for ns, p in PODS):
            complete.append(found)
        return bool(complete)

    wait_until(newest_is_complete, timeout=120, what="a snapshot with every pod's measurements")
    (found,) = complete
    (cpu,) = [q for q in stack.config.pod_queries if q.property == "CPU.Usage"]
    for (namespace, name), node_name in zip(PODS, (*NODES, NODES[0]), strict=True):
        entry = found[f"{BASE}{namespace}.{name}"]
        assert entry["node"] == BASE + node_name
        assert entry["Storage.Usage"] == exporter.POD_STORAGE_USAGE
        served = stack.evaluated(cpu, f"{namespace}.{name}", entry["CPU.Usage@"])
        assert served > 0
        assert entry["CPU.Usage"] == pytest.approx(served, rel=1e-9)


def test_snapshots_in_a_time_window_and_tasks(stack: Stack) -> None:
    service = stack.service
    start = int(time.time() * 1000)
    wait_until(
        lambda: sum(1 for t in service.snapshot_graphs().values() if t >= start) >= 2,
        timeout=120,
        what="two snapshots after the window opened",
    )
    rows = node_measurements(
        service,
        'FILTER(STRSTARTS(STR(?g), "timestamp:") && '
        f'xsd:integer(STRAFTER(STR(?g), "timestamp:")) >= {start})',
    )
    graphs = {r["g"]["value"] for r in rows}
    assert len(graphs) >= 2, "each snapshot in the window holds the nodes' measurements"
    tasks = service.select(
        """SELECT ?task ?pod WHERE { GRAPH ?g { ?task a <glc:AssignedTask> ; <glc:makes> ?pod .
           ?pod <glc:hasDescription> "Pod" } }"""
    )
    assert {(r["task"]["value"], r["pod"]["value"]) for r in tasks} >= {
        (BASE + "web-5d4f7c9b8", f"{BASE}shop.web-5d4f7c9b8-abcde")
    }


def test_a_deleted_pod_ends_in_the_next_snapshot(stack: Stack) -> None:
    service = stack.service
    stack.fake.delete("Pod", "batch", "etl-0")

    def ended() -> bool:
        # In the snapshot after the deletion (the one after that no longer names the pod).
        rows = service.select(
            f"""SELECT ?d ?end WHERE {{ GRAPH ?g {{ <{BASE}batch.etl-0> <glc:hasStatus> ?s .
                ?s <glc:hasDescription> ?d ; <glc:endTime> ?end }}
                FILTER(STRSTARTS(STR(?g), "timestamp:")) }}"""
        )
        return any(r["d"]["value"] == "Unknown" for r in rows)

    wait_until(ended, timeout=120, what="a snapshot ending the deleted pod's status")

    def newest_without_it() -> bool:
        graph = newest(service)
        return graph is not None and not service.select(
            f"""SELECT ?p WHERE {{ GRAPH ?g {{ <{BASE}batch.etl-0> <glc:consumes> ?n }}
            FILTER(?g = <{graph}>) }}"""
        )

    wait_until(newest_without_it, timeout=120, what="a newest snapshot without the deleted pod")


async def test_a_failing_query_costs_only_its_measurement(stack: Stack) -> None:
    config = parse_measurements(
        {
            "builder": {
                "queries": {
                    "node_queries": [
                        {"property": "Broken", "unit": "bytes", "source": "NodeExporter",
                         "query": "sum(node_memory_MemFree_bytes @{{now}}"},
                        *[dataclasses.asdict(q) | {"aggregation": None}
                          for q in stack.config.node_queries if q.property == "RAM.Available"],
                    ]
                }
            }
        }
    )  # fmt: skip
    metrics = GlaciationMetrics(CollectorRegistry())
    async with PrometheusClient(stack.prometheus.url) as client:
        nodes, _ = await Sampler(client, config, metrics).sample(time.time())
    assert metrics.query_failures.labels("Broken", "node")._value.get() == 1
    assert {(s.resource, s.query.property, s.value) for s in nodes} == {
        (n, "RAM.Available", exporter.NODE_MEMORY_FREE) for n in NODES
    }


def test_design_subgraphs_beside_the_snapshots_do_not_shadow_them(stack: Stack) -> None:
    """The design's subgraphs, written by the same daemon into the same service, stay out of
    the readers' ``^timestamp:`` selection: the newest such graph is always a whole snapshot."""
    service = stack.service

    def design_ids() -> set[str]:
        rows = service.select(f"SELECT DISTINCT ?s WHERE {{ GRAPH ?g {{ ?s <{DIGEST}> ?d }} }}")
        return {r["s"]["value"].removeprefix(SUBGRAPH_GRAPH_PREFIX) for r in rows}

    wait_until(
        lambda: {"cluster1:node:worker-a", "cluster1:node:worker-b"} <= design_ids(),
        timeout=120,
        what="the design's node subgraphs",
    )
    graph = newest(service)
    assert graph is not None, "no ^timestamp: graph"
    clusters = service.select(
        f"""SELECT ?c WHERE {{ GRAPH <{graph}> {{ ?c <glc:hasDescription> "KubernetesCluster" }} }}"""
    )
    assert [r["c"]["value"] for r in clusters] == [BASE + "e2e"]


def test_the_snapshot_alone(stack: Stack) -> None:
    """``glaciation.subgraphs: false``: no design sink; ready once a snapshot is written."""
    before = len(stack.service.snapshot_graphs())
    daemon = start_daemon(
        stack.workdir,
        stack.fake,
        {
            "sink": {"url": "http://127.0.0.1:9"},  # never used: nothing may be sent there
            "glaciation": {
                "enabled": True,
                "subgraphs": False,
                "url": stack.service.url,
                "measurements_file": str(EXPORTER_CONFIG),
                "prometheus_url": stack.prometheus.url,
                "interval_seconds": 1.0,
            },
        },
    )
    try:
        assert len(stack.service.snapshot_graphs()) > before
    finally:
        assert daemon.stop() == 0, daemon.log_text()[-5000:]
    assert "127.0.0.1:9" not in daemon.log_text()
