"""Each kind's PromQL selects exactly its own pods, on a real Prometheus.

A small exporter serves, for every metric the telemetry queries read, one series per pod of every
workload below: for each kind a workload and a neighbour of the same kind whose name extends it
(``web`` and ``web-api``), their pods named as the kind's controllers name them. Prometheus
scrapes it; then every vector selector of every query emitted for the workload must return the
series of its pods and of no other pod, and every whole query must execute and return a value.
"""

from __future__ import annotations

import contextlib
import http.server
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from kg_exporter.identity import SubgraphKind
from kg_exporter.kinds import bundled_registry
from kg_exporter.render.batch import render_objects
from kg_exporter.render.renderer import Renderer, Subgraph
from tests.e2e import operators as op
from tests.render import fixtures as f
from tests.support.processes import free_port, wait_until
from tests.support.prometheus import Prometheus, start_prometheus

Obj = dict[str, Any]
# What Kubernetes draws random name parts from (k8s.io/apimachinery/pkg/util/rand): no vowels,
# no 0, 1 or 3, so a random part never spells a word.
RANDOM = ["x2k9p", "b7m4q", "zt5wh"]
WORKLOAD_SUBGRAPHS = {SubgraphKind.WORKLOAD, SubgraphKind.WORKLOAD_TELEMETRY}


@dataclass(frozen=True)
class Case:
    """A workload of one kind, its neighbour (a name extending its name) and how pods are named."""

    kind: str
    make: Callable[[str, str], Obj]  # (name, namespace) → the object, running
    pods: Callable[[str], list[str]]  # workload name → names of its pods
    name: str
    neighbour: str
    #: (name, namespace) → the objects its controller made, rendered with it (a backfill of the
    #: cluster sees them together), whose pods are the workload's too.
    children: Callable[[str, str], list[Obj]] = lambda name, namespace: []

    @property
    def namespace(self) -> str:
        return f"ns-{self.kind.lower()}"


CASES = [
    Case(
        "Deployment",
        lambda n, ns: f.deployment(name=n, namespace=ns, availableReplicas=1),
        # <name>-<pod-template-hash, up to 10>-<5 random>
        lambda n: [f"{n}-7d9c5b8f4-{RANDOM[0]}", f"{n}-5f6d8b9c7b-{RANDOM[1]}"],
        "web",
        "web-api",
    ),
    Case(
        "StatefulSet",
        lambda n, ns: f.statefulset(name=n, namespace=ns),
        lambda n: [f"{n}-0", f"{n}-1", f"{n}-12"],  # <name>-<ordinal>
        "db",
        "db-backup",
    ),
    Case(
        "Job",
        lambda n, ns: f.job(name=n, namespace=ns, active=1),
        # <name>-<5 random>, or <name>-<completion index>-<5 random> when Indexed
        lambda n: [f"{n}-{RANDOM[0]}", f"{n}-0-{RANDOM[1]}", f"{n}-14-{RANDOM[2]}"],
        "report",
        "report-api",
    ),
]


def _custom(kind: str, api: str, spec: Obj, status: Obj) -> Callable[[str, str], Obj]:
    def make(name: str, namespace: str) -> Obj:
        meta = {"name": name, "namespace": namespace}
        return {"apiVersion": api, "kind": kind, "metadata": meta, "spec": spec, "status": status}

    return make


def _template(container: str) -> Obj:
    return {"spec": {"containers": [{"name": container, "image": "busybox:1.36"}]}}


RJ_ACTIVE = {"replicatedJobsStatus": [{"name": "workers", "active": 1}]}
CASES += [
    Case(
        "DaemonSet",
        _custom("DaemonSet", "apps/v1", {"template": _template("agent")}, {"numberAvailable": 1}),
        lambda n: [f"{n}-{RANDOM[0]}", f"{n}-{RANDOM[1]}"],  # <name>-<5 random>
        "agent",
        "agent-v2",
    ),
    Case(
        "CronJob",
        _custom("CronJob", "batch/v1", {"jobTemplate": {"spec": {"template": _template("b")}}}, {}),
        # Jobs <name>-<scheduled minute>; their pods -<5 random>, or -<index>-<5 random>.
        lambda n: [f"{n}-29389560-{RANDOM[0]}", f"{n}-29391000-0-{RANDOM[1]}"],
        "backup",
        "backup-db",
    ),
    Case(
        "JobSet",
        _custom(
            "JobSet",
            "jobset.x-k8s.io/v1alpha2",
            {
                "replicatedJobs": [
                    {"name": rj, "template": {"spec": {"template": _template("trainer")}}}
                    for rj in ("workers", "driver")
                ]
            },
            RJ_ACTIVE,
        ),
        # <jobset>-<replicated job>-<job index>-<pod index>-<5 random>
        lambda n: [
            f"{n}-workers-0-0-{RANDOM[0]}",
            f"{n}-workers-1-0-{RANDOM[1]}",
            f"{n}-driver-0-0-{RANDOM[2]}",
        ],
        "a",
        "a-b",
    ),
    Case(
        "MetricSet",
        _custom("MetricSet", "flux-framework.org/v1alpha2", {"pods": 2}, {}),
        # The JobSet it creates has its name; replicated jobs l (launcher) and w (workers).
        lambda n: [f"{n}-l-0-0-{RANDOM[0]}", f"{n}-w-0-0-{RANDOM[1]}"],
        "lammps",
        "lammps-2",
    ),
    Case(
        "MiniCluster",
        _custom(
            "MiniCluster",
            "flux-framework.org/v1alpha2",
            {"size": 2, "containers": [{"image": "ghcr.io/rse-ops/lulesh:0.1.0"}]},
            {"conditions": [{"type": "JobMiniClusterReady", "status": "True"}]},
        ),
        # <name>-<index>-<5 random>, and the services pod <name>-services
        lambda n: [f"{n}-0-{RANDOM[0]}", f"{n}-3-{RANDOM[1]}", f"{n}-services"],
        "flux",
        "flux-big",
    ),
    Case(
        "Ensemble",
        lambda n, ns: op.ensemble_tree(n, ns, members=2)[0],
        # Member MiniClusters <name>-<i>: pods <name>-<i>-<index>-<5 random>; its gRPC
        # Deployment <name>: pods <name>-<pod-template-hash>-<5 random>
        lambda n: [f"{n}-0-0-{RANDOM[0]}", f"{n}-1-1-{RANDOM[1]}", f"{n}-7d9c5b8f4-{RANDOM[2]}"],
        "ens",
        "ens-b",
        children=lambda n, ns: op.ensemble_tree(n, ns, members=2)[1:],
    ),
]


def queries_of(document: Obj) -> list[str]:
    return [n["kgx:promql"] for n in document["@graph"] if "kgx:promql" in n]


# The start of a vector selector: a metric name and its opening brace.
SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{")


def selectors(query: str) -> list[tuple[str, str]]:
    """Each vector selector of ``query`` as (metric, whole selector); braces inside the quoted
    values (a regex's ``{5}``) do not end it."""
    found = []
    for match in SELECTOR.finditer(query):
        position, quoted = match.end(), False
        while position < len(query):
            char = query[position]
            if quoted and char == "\\":
                position += 1
            elif char == '"':
                quoted = not quoted
            elif char == "}" and not quoted:
                break
            position += 1
        found.append((match.group(1), query[match.start() : position + 1]))
    return found


def rendered_queries(renderer: Renderer, case: Case) -> list[str]:
    objects = [case.make(case.name, case.namespace), *case.children(case.name, case.namespace)]
    own = f":{case.kind.lower()}:{case.namespace}:{case.name}"
    found: list[str] = []
    for subgraph in render_objects([(o, o["kind"]) for o in objects], renderer):
        # Only the workload's own: a batch also renders the glaciation node (cluster-wide).
        if (
            isinstance(subgraph, Subgraph)
            and subgraph.kind in WORKLOAD_SUBGRAPHS
            and subgraph.id.endswith(own)
        ):
            found.extend(queries_of(subgraph.document))
    return found


def exposition(metrics: set[str]) -> str:
    """One series per metric and pod of every case's workload and neighbour."""
    lines = []
    for case in CASES:
        for workload in (case.name, case.neighbour):
            for pod in case.pods(workload):
                labels = f'namespace="{case.namespace}",pod="{pod}",container="main"'
                lines.extend(f"{metric}{{{labels}}} 1" for metric in sorted(metrics))
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def serving(text: str) -> Iterator[str]:
    """An HTTP server answering every GET with ``text`` (a /metrics page); its host:port."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = text.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@dataclass(frozen=True)
class Scraped:
    prometheus: Prometheus
    queries: dict[str, list[str]]  # kind → every PromQL emitted for its workload


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scraped]:
    from kg_exporter.settings import Settings

    renderer = Renderer(Settings())
    queries = {case.kind: rendered_queries(renderer, case) for case in CASES}
    metrics = {metric for found in queries.values() for q in found for metric, _ in selectors(q)}
    with (
        serving(exposition(metrics)) as target,
        start_prometheus(tmp_path_factory.mktemp("prometheus"), [target]) as prometheus,
    ):
        # Two scrapes, so that rate() has what it needs.
        wait_until(
            lambda: _samples(prometheus, "up") >= 2, timeout=60, what="two scrapes of the pods"
        )
        yield Scraped(prometheus, queries)


def _samples(prometheus: Prometheus, metric: str) -> int:
    answer = prometheus.query(f"count_over_time({metric}[1m])")
    result = answer.get("data", {}).get("result", [])
    return int(float(result[0]["value"][1])) if result else 0


def pods_selected(prometheus: Prometheus, selector: str) -> set[str]:
    answer = prometheus.query(selector)
    assert answer["status"] == "success", (selector, answer)
    return {series["metric"]["pod"] for series in answer["data"]["result"]}


@pytest.mark.prometheus
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.kind)
def test_each_query_selects_the_workloads_pods_and_no_neighbours(
    scraped: Scraped, case: Case
) -> None:
    queries = scraped.queries[case.kind]
    assert queries, f"no PromQL rendered for a {case.kind}"
    own = set(case.pods(case.name))
    for query in queries:
        pod_selectors = [s for _, s in selectors(query) if "pod=" in s]
        assert pod_selectors, query
        for selector in pod_selectors:
            assert pods_selected(scraped.prometheus, selector) == own, selector
        answer = scraped.prometheus.query(query)
        assert answer["status"] == "success", (query, answer)
        assert answer["data"]["result"], f"no value for {query}"


def test_the_cases_cover_kinds_that_exist() -> None:
    assert {case.kind for case in CASES} <= set(bundled_registry())
    for case in CASES:
        assert case.neighbour.startswith(case.name + "-")
        # Realistic pod names: the neighbour's pods start with the workload's name and a dash.
        assert all(p.startswith(case.name + "-") for p in case.pods(case.neighbour))
