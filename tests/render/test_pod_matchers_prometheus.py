"""Each kind's PromQL selects exactly its own pods, on a real Prometheus.

A small exporter serves, for every metric the telemetry queries read, one series per pod of every
workload below: for each kind a workload and a neighbour of the same kind whose name extends it
(``web`` and ``web-api``), their pods named as the kind's controllers name them, and pods of other
kinds (or bare pods) whose names extend the workload's (Deployment ``web`` / Job ``web-api``).
Prometheus scrapes it; then every vector selector of every query emitted for the workload must
return the series of its pods and of no other pod, and every whole query must execute and return a
value. The cross-kind pods called ``strangers`` were all matched by the patterns before they used
the characters Kubernetes generates (``old``): each is a collision the tightened patterns removed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import pytest

from kg_exporter.identity import SubgraphKind
from kg_exporter.kinds import bundled_registry
from kg_exporter.render.batch import render_objects
from kg_exporter.render.renderer import Renderer, Subgraph
from tests.e2e import operators as op
from tests.render import fixtures as f
from tests.render.scrape import (
    HASHES,
    RANDOM,
    Obj,
    pods_selected,
    queries_of,
    register_series,
    selectors,
)
from tests.support.prometheus import Prometheus

WORKLOAD_SUBGRAPHS = {SubgraphKind.WORKLOAD, SubgraphKind.WORKLOAD_TELEMETRY}


@dataclass(frozen=True)
class Case:
    """A workload of one kind, its neighbour (a name extending its name) and how pods are named."""

    kind: str
    make: Callable[[str, str], Obj]  # (name, namespace) → the object, running
    pods: Callable[[str], list[str]]  # workload name → names of its pods
    name: str
    neighbour: str
    #: The workload's pod-name pattern before it used Kubernetes' generated characters.
    old: str
    #: Pods of other kinds' workloads (or bare pods) named like an extension of this one's name,
    #: which ``old`` matched: collisions the tightened pattern removed.
    strangers: tuple[str, ...]
    #: (name, namespace) → the objects its controller made, rendered with it (a backfill of the
    #: cluster sees them together), whose pods are the workload's too.
    children: Callable[[str, str], list[Obj]] = lambda name, namespace: []
    #: More pods of other kinds whose names extend this one's, which no pattern matched.
    unrelated: tuple[str, ...] = ()

    @property
    def namespace(self) -> str:
        return f"ns-{self.kind.lower()}"


CASES = [
    Case(
        "Deployment",
        lambda n, ns: f.deployment(name=n, namespace=ns, availableReplicas=1),
        # <name>-<pod-template-hash, up to 10>-<5 random>
        lambda n: [f"{n}-{HASHES[0]}-{RANDOM[0]}", f"{n}-{HASHES[1]}-{RANDOM[1]}"],
        "web",
        "web-api",
        old=r"web-[a-z0-9]{1,10}-[a-z0-9]{5}",
        strangers=(
            f"web-api-{RANDOM[0]}",  # Job web-api
            f"web-api-{RANDOM[2]}",  # DaemonSet web-api
            f"web-admin-{RANDOM[1]}",  # Job web-admin
            f"web-29389560-{RANDOM[0]}",  # a run of CronJob web
        ),
        unrelated=("web-api-0", f"web-api-0-{RANDOM[1]}"),  # StatefulSet, indexed Job web-api
    ),
    Case(
        "StatefulSet",
        lambda n, ns: f.statefulset(name=n, namespace=ns),
        lambda n: [f"{n}-0", f"{n}-1", f"{n}-12"],  # <name>-<ordinal>
        "db",
        "db-backup",
        old=r"db-[0-9]+",
        strangers=("db-01",),  # a bare pod: ordinals have no leading zero
        unrelated=(f"db-0x-{HASHES[0]}-{RANDOM[0]}", f"db-2-{RANDOM[1]}"),  # Deployment, Job
    ),
    Case(
        "Job",
        lambda n, ns: f.job(name=n, namespace=ns, active=1),
        # <name>-<5 random>, or <name>-<completion index>-<5 random> when Indexed
        lambda n: [f"{n}-{RANDOM[0]}", f"{n}-0-{RANDOM[1]}", f"{n}-14-{RANDOM[2]}"],
        "report",
        "report-api",
        old=r"report(-[0-9]+)?-[a-z0-9]{5}",
        strangers=("report-admin", "report-proxy"),  # bare pods
        unrelated=(f"report-api-{HASHES[0]}-{RANDOM[0]}",),  # Deployment report-api
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
        old=r"agent-[a-z0-9]{5}",
        strangers=("agent-proxy", "agent-setup"),  # bare pods
        unrelated=(f"agent-v2-{HASHES[0]}-{RANDOM[0]}",),  # Deployment agent-v2
    ),
    Case(
        "CronJob",
        _custom("CronJob", "batch/v1", {"jobTemplate": {"spec": {"template": _template("b")}}}, {}),
        # Jobs <name>-<scheduled minute>; their pods -<5 random>, or -<index>-<5 random>.
        lambda n: [f"{n}-29389560-{RANDOM[0]}", f"{n}-29391000-0-{RANDOM[1]}"],
        "backup",
        "backup-db",
        old=r"backup-[0-9]+(?:-[0-9]+)?-[a-z0-9]{5}",
        strangers=(f"backup-0-{RANDOM[0]}", "backup-2-0-admin"),  # Job backup-0, a bare pod
        unrelated=(f"backup-db-{HASHES[1]}-{RANDOM[2]}",),  # Deployment backup-db
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
        old=r"a-(?:workers|driver)-[0-9]+(?:-[0-9]+)?-[a-z0-9]{5}",
        strangers=(f"a-driver-01-{RANDOM[0]}", "a-workers-0-0-hello"),  # Job a-driver-01, a pod
        unrelated=(f"a-driver-{RANDOM[1]}", "a-workers-0"),  # Job a-driver, StatefulSet
    ),
    Case(
        "MetricSet",
        _custom("MetricSet", "flux-framework.org/v1alpha2", {"pods": 2}, {}),
        # The JobSet it creates has its name; replicated jobs l (launcher) and w (workers).
        lambda n: [f"{n}-l-0-0-{RANDOM[0]}", f"{n}-w-0-0-{RANDOM[1]}"],
        "lammps",
        "lammps-2",
        old=r"lammps-(?:m|l|w|n)-0-[0-9]+-[a-z0-9]{5}",
        strangers=("lammps-l-0-0-hello", f"lammps-w-0-01-{RANDOM[2]}"),  # bare pods
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
        old=r"flux(?:-[0-9]+-[a-z0-9]{5}|-services)",
        strangers=("flux-0-agent", "flux-12-admin"),  # bare pods
        unrelated=(f"flux-services-{HASHES[0]}-{RANDOM[0]}",),  # Deployment flux-services
    ),
    Case(
        "Ensemble",
        lambda n, ns: op.ensemble_tree(n, ns, members=2)[0],
        # Member MiniClusters <name>-<i>: pods <name>-<i>-<index>-<5 random>; its gRPC
        # Deployment <name>: pods <name>-<pod-template-hash>-<5 random>
        lambda n: [f"{n}-0-0-{RANDOM[0]}", f"{n}-1-1-{RANDOM[1]}", f"{n}-{HASHES[0]}-{RANDOM[2]}"],
        "ens",
        "ens-b",
        old=r"ens(?:-[0-9]+-[0-9]+-[a-z0-9]{5}|-[0-9]+(?:-[0-9]+-[a-z0-9]{5}|-services)"
        r"|-[a-z0-9]{1,10}-[a-z0-9]{5})",
        strangers=("ens-0-0-hello", f"ens-api-{RANDOM[0]}"),  # a bare pod, Job ens-api
        children=lambda n, ns: op.ensemble_tree(n, ns, members=2)[1:],
    ),
]


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
    """One series per metric and pod of every case's workload, neighbour and strangers."""
    lines: list[str] = []
    for case in CASES:
        pods = case.pods(case.name) + case.pods(case.neighbour)
        for pod in [*pods, *case.strangers, *case.unrelated]:
            labels = f'namespace="{case.namespace}",pod="{pod}",container="main"'
            lines.extend(f"{metric}{{{labels}}} 1" for metric in sorted(metrics))
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Scraped:
    prometheus: Prometheus
    queries: dict[str, list[str]]  # kind → every PromQL emitted for its workload


@cache
def workload_queries() -> dict[str, list[str]]:
    """Kind → every PromQL emitted for its workload."""
    from kg_exporter.settings import Settings

    renderer = Renderer(Settings())
    return {case.kind: rendered_queries(renderer, case) for case in CASES}


@register_series
def series() -> str:
    found = workload_queries().values()
    return exposition({metric for queries in found for q in queries for metric, _ in selectors(q)})


@pytest.fixture(scope="module")
def scraped(pods_prometheus: Prometheus) -> Scraped:
    return Scraped(pods_prometheus, workload_queries())


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
        assert all(p.startswith(case.name + "-") for p in case.strangers + case.unrelated)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.kind)
def test_the_strangers_were_collisions_of_the_old_patterns(case: Case) -> None:
    """The cross-kind pods test something: the loose patterns took them for the workload's."""
    for pod in case.pods(case.name) + list(case.strangers):
        assert re.fullmatch(case.old, pod), (case.old, pod)
