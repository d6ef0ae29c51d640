"""Kinds that select their pods by labels: the PromQL joins kube-state-metrics' kube_pod_labels and
selects exactly the workload's pods, on a real Prometheus.

A small exporter serves one series per metric the queries read for every pod below (cAdvisor
style: namespace, pod, container; no pod labels) and, for each pod, ``kube_pod_labels`` with its
labels as kube-state-metrics names them (``label_`` + sanitised key; written out here, not computed
by the code under test). Each case opts one kind into ``select_by: labels``, renders its workload,
and checks that every query, aggregated by pod, reads exactly the workload's pods: not those of a
neighbour whose label value differs slightly (``app=web`` / ``web-api``), not a pod of another
kind whose *name* the kind's pod-name pattern matches (the collisions no name pattern avoids), not
a pod with the same labels in another namespace; with a pod listed twice in kube_pod_labels (two
kube-state-metrics replicas) and with label values holding quotes, backslashes, braces and
newlines. The library then reads a label-selected telemetry subgraph back and pulls its history.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass, field
from functools import cache

import pytest

from kg_exporter import MetadataClient, PrometheusClient, Subgraph, open_store
from kg_exporter.identity import SubgraphKind
from kg_exporter.kinds.registry import KindRegistry, build_registry, bundled_entries
from kg_exporter.render.batch import render_objects
from kg_exporter.render.renderer import Renderer
from kg_exporter.settings import Settings
from tests.e2e import operators as op
from tests.render import fixtures as f
from tests.render.scrape import (
    HASHES,
    RANDOM,
    Obj,
    by_pod,
    label_value,
    pods_selected,
    queries_of,
    register_series,
    selectors,
)
from tests.support.prometheus import Prometheus

pytestmark = pytest.mark.prometheus
#: A pod: its name and its labels as kube-state-metrics exports them.
Pod = tuple[str, dict[str, str]]
JOB = "label_batch_kubernetes_io_job_name"
HOSTILE = 'we"b\\}\n{x'


@dataclass(frozen=True)
class Case:
    """A workload of a kind opted into label selection, the objects rendered with it, its pods and
    pods it must not select."""

    id: str
    kind: str
    objects: list[Obj]
    own: list[Pod]
    #: Pods of a neighbour whose labels differ slightly, and of other kinds whose names the
    #: kind's pod-name pattern matches.
    others: list[Pod]
    #: Kinds opted into label selection for this case (the workload's kind, its children's).
    by_labels: tuple[str, ...] = ()
    #: Pods that have the workload's labels in another namespace.
    elsewhere: list[Pod] = field(default_factory=list)

    @property
    def namespace(self) -> str:
        return f"lb-{self.id}"

    @property
    def name(self) -> str:
        return str(self.objects[0]["metadata"]["name"])


def _in(namespace: str, obj: Obj) -> Obj:
    obj["metadata"]["namespace"] = namespace
    return obj


def _selecting(obj: Obj, labels: dict[str, str]) -> Obj:
    obj["metadata"].pop("namespace", None)
    obj["spec"]["selector"] = {"matchLabels": labels}
    return obj


def _deployment(name: str, ns: str, labels: dict[str, str]) -> Obj:
    return _selecting(f.deployment(name=name, namespace=ns, availableReplicas=1), labels)


def _custom(kind: str, api: str, name: str, spec: Obj, status: Obj) -> Obj:
    return {"apiVersion": api, "kind": kind, "metadata": {"name": name}, "spec": spec,
            "status": status}  # fmt: skip


def _template(container: str, labels: dict[str, str] | None = None) -> Obj:
    spec = {"containers": [{"name": container, "image": "busybox:1.36"}]}
    return {"metadata": {"labels": labels or {}}, "spec": spec}


def _jobset(name: str) -> Obj:
    jobs = [{"name": rj, "template": {"spec": {"template": _template("t")}}} for rj in ("w", "d")]
    status = {"replicatedJobsStatus": [{"name": "w", "active": 1}]}
    return _custom("JobSet", "jobset.x-k8s.io/v1alpha2", name, {"replicatedJobs": jobs}, status)


def _cases() -> list[Case]:
    r, h = RANDOM, HASHES
    ready = {"conditions": [{"type": "JobMiniClusterReady", "status": "True"}]}
    mc_spec = {"size": 2, "containers": [{"image": "ghcr.io/rse-ops/lulesh:0.1.0"}]}
    cases = [
        Case(
            "deployment",
            "Deployment",
            [_deployment("web", "lb-deployment", {"app": "web"})],
            own=[
                (f"web-{h[0]}-{r[0]}", {"label_app": "web", "label_pod_template_hash": h[0]}),
                (f"web-{h[1]}-{r[1]}", {"label_app": "web", "label_pod_template_hash": h[1]}),
            ],
            others=[
                (f"web-api-{h[0]}-{r[2]}", {"label_app": "web-api"}),
                # Job web-bcd: its pod's name is one of a Deployment web's.
                (f"web-bcd-{r[0]}", {JOB: "web-bcd"}),
            ],
            by_labels=("Deployment",),
            elsewhere=[(f"web-{h[0]}-{r[2]}", {"label_app": "web"})],
        ),
        Case(
            "statefulset",
            "StatefulSet",
            [_selecting(f.statefulset(name="db"), {"app.kubernetes.io/name": "db"})],
            own=[
                ("db-0", {"label_app_kubernetes_io_name": "db"}),
                ("db-1", {"label_app_kubernetes_io_name": "db"}),
            ],
            others=[
                ("db-backup-0", {"label_app_kubernetes_io_name": "db-backup"}),
                ("db-7", {"label_run": "db-7"}),
            ],  # a bare pod
            by_labels=("StatefulSet",),
        ),
        Case(
            "job",
            "Job",
            [_in("lb-job", f.job(name="report", active=1))],
            own=[(f"report-{r[0]}", {JOB: "report"}), (f"report-3-{r[1]}", {JOB: "report"})],
            # Job report-api; a run of CronJob report (named like an indexed pod of Job report).
            others=[
                (f"report-api-{r[2]}", {JOB: "report-api"}),
                (f"report-29389560-{r[2]}", {JOB: "report-29389560"}),
            ],
            by_labels=("Job",),
        ),
        Case(
            "daemonset",
            "DaemonSet",
            [
                _custom(
                    "DaemonSet",
                    "apps/v1",
                    "agent",
                    {"selector": {"matchLabels": {"name": "agent"}}, "template": _template("a")},
                    {"numberAvailable": 1},
                )
            ],
            own=[
                (f"agent-{r[0]}", {"label_name": "agent"}),
                (f"agent-{r[1]}", {"label_name": "agent"}),
            ],
            others=[
                (f"agent-v2-{r[2]}", {"label_name": "agent-v2"}),
                (f"agent-{r[2]}", {JOB: "agent"}),
            ],  # Job agent
            by_labels=("DaemonSet",),
        ),
        Case(
            "cronjob",
            "CronJob",
            [
                _custom(
                    "CronJob",
                    "batch/v1",
                    "backup",
                    {"jobTemplate": {"spec": {"template": _template("b", {"app": "backup"})}}},
                    {},
                )
            ],
            own=[
                (f"backup-29389560-{r[0]}", {"label_app": "backup", JOB: "backup-29389560"}),
                (f"backup-29389561-{r[1]}", {"label_app": "backup", JOB: "backup-29389561"}),
            ],
            others=[
                (f"backup-db-29389560-{r[2]}", {"label_app": "backup-db"}),
                (f"backup-7-{r[2]}", {JOB: "backup-7"}),
            ],  # Job backup-7
            by_labels=("CronJob",),
        ),
        Case(
            "jobset",
            "JobSet",
            [_jobset("a")],
            own=[
                (f"a-w-0-0-{r[0]}", {"label_jobset_sigs_k8s_io_jobset_name": "a"}),
                (f"a-d-0-0-{r[1]}", {"label_jobset_sigs_k8s_io_jobset_name": "a"}),
            ],
            others=[
                (f"a-b-w-0-0-{r[2]}", {"label_jobset_sigs_k8s_io_jobset_name": "a-b"}),
                (f"a-w-0-{r[2]}", {JOB: "a-w-0"}),
            ],  # Job a-w-0 (not a JobSet's)
            by_labels=("JobSet",),
        ),
        Case(
            "metricset",
            "MetricSet",
            [_custom("MetricSet", "flux-framework.org/v1alpha2", "lammps", {"pods": 2}, {})],
            own=[
                (f"lammps-l-0-0-{r[0]}", {"label_metricset_name": "lammps"}),
                (f"lammps-w-0-0-{r[1]}", {"label_metricset_name": "lammps"}),
            ],
            others=[
                (f"lammps-2-l-0-0-{r[2]}", {"label_metricset_name": "lammps-2"}),
                (f"lammps-w-0-1-{r[2]}", {JOB: "lammps-w-0"}),
            ],  # Job lammps-w-0
            by_labels=("MetricSet",),
        ),
        Case(
            "minicluster",
            "MiniCluster",
            [_custom("MiniCluster", "flux-framework.org/v1alpha2", "flux", mc_spec, ready)],
            own=[(f"flux-0-{r[0]}", {JOB: "flux"}), (f"flux-1-{r[1]}", {JOB: "flux"})],
            others=[
                (f"flux-big-0-{r[2]}", {JOB: "flux-big"}),
                (f"flux-2-{r[2]}", {"label_app": "flux-2"}),
            ],  # DaemonSet flux-2
            by_labels=("MiniCluster",),
        ),
        Case(
            # Its own pods by name; its members' and gRPC Deployment's by their kinds' labels.
            "ensemble",
            "Ensemble",
            op.ensemble_tree("ens", "lb-ensemble", members=2),
            own=[
                (f"ens-0-0-{r[0]}", {JOB: "ens-0"}),
                (f"ens-1-1-{r[1]}", {JOB: "ens-1"}),
                (f"ens-{h[0]}-{r[2]}", {"label_app": "ens", "label_operator": "ensemble-operator"}),
            ],
            others=[
                (f"ens-b-0-0-{r[0]}", {JOB: "ens-b-0"}),
                (f"ens-api-{h[1]}-{r[0]}", {"label_app": "ens-api"}),
                (f"ens-bc-{r[0]}", {JOB: "ens-bc"}),
            ],  # Job ens-bc
            by_labels=("MiniCluster", "Deployment"),
        ),
        Case(
            # Label values no Kubernetes label holds, as a hostile object could state them.
            "hostile",
            "Deployment",
            [_deployment("odd", "lb-hostile", {"app": HOSTILE, "myApp": "v"})],
            own=[(f"odd-{h[0]}-{r[0]}", {"label_app": HOSTILE, "label_my_app": "v"})],
            others=[
                (f"odd-{h[1]}-{r[1]}", {"label_app": 'we"b', "label_my_app": "v"}),
                (f"odd-{h[1]}-{r[2]}", {"label_app": HOSTILE}),
            ],
            by_labels=("Deployment",),
        ),
    ]
    for case in cases:
        for obj in case.objects:
            obj["metadata"].setdefault("namespace", case.namespace)
    return cases


CASES = _cases()


@cache
def registry_selecting_by_labels(kinds: tuple[str, ...]) -> KindRegistry:
    """The bundled kinds, with ``kinds`` opted into selection by labels as a user would."""
    entries = []
    for entry in bundled_entries():
        if entry.kind in kinds:
            pods = entry.pods.model_copy(update={"select_by": "labels"})
            entry = entry.model_copy(update={"pods": pods})
        entries.append(entry)
    return build_registry([("bundled kinds, opted in", entries)])


@cache
def _renderer(by_labels: tuple[str, ...]) -> Renderer:
    return Renderer(Settings(), kinds=registry_selecting_by_labels(by_labels))


def rendered(case: Case, by_labels: tuple[str, ...] | None = None) -> list[Subgraph]:
    """The workload's subgraphs, with ``by_labels`` (default: the case's) selecting by labels."""
    renderer = _renderer(case.by_labels if by_labels is None else by_labels)
    own = f":{case.kind.lower()}:{case.namespace}:{case.name}"
    return [
        s
        for s in render_objects([(o, o["kind"]) for o in case.objects], renderer)
        if isinstance(s, Subgraph)
        and s.kind in (SubgraphKind.WORKLOAD, SubgraphKind.WORKLOAD_TELEMETRY)
        and s.id.endswith(own)
    ]


def exposition(metrics: set[str]) -> str:
    lines: list[str] = []
    for case in CASES:
        for namespace, pods in (
            (case.namespace, case.own + case.others),
            ("lb-elsewhere", case.elsewhere),
        ):
            for pod, labels in pods:
                at = f'namespace="{namespace}",pod="{pod}"'
                lines.extend(f'{m}{{{at},container="main"}} 1' for m in sorted(metrics))
                ksm = "".join(f",{k}={label_value(v)}" for k, v in sorted(labels.items()))
                lines.append(f'kube_pod_labels{{{at},uid="u-{pod}"{ksm}}} 1')
    # The first pod of the first case twice, as two kube-state-metrics replicas report it.
    pod, labels = CASES[0].own[0]
    ksm = "".join(f",{k}={label_value(v)}" for k, v in sorted(labels.items()))
    lines.append(
        f'kube_pod_labels{{namespace="{CASES[0].namespace}",pod="{pod}",uid="u-{pod}",'
        f'instance_copy="2"{ksm}}} 1'
    )
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Scraped:
    prometheus: Prometheus
    subgraphs: dict[str, list[Subgraph]]  # case id → its workload's subgraphs


@cache
def workload_subgraphs() -> dict[str, list[Subgraph]]:
    """Case id → its workload's subgraphs."""
    return {case.id: rendered(case) for case in CASES}


@register_series
def series() -> str:
    metrics = {
        metric
        for found in workload_subgraphs().values()
        for s in found
        for q in queries_of(s.document)
        for metric, _ in selectors(q)
        if metric != "kube_pod_labels"
    }
    return exposition(metrics)


@pytest.fixture(scope="module")
def scraped(pods_prometheus: Prometheus) -> Scraped:
    return Scraped(pods_prometheus, workload_subgraphs())


def _telemetry(subgraphs: list[Subgraph]) -> Obj:
    (doc,) = [s.document for s in subgraphs if s.kind is SubgraphKind.WORKLOAD_TELEMETRY]
    return doc


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_each_query_selects_exactly_the_pods_with_the_workloads_labels(
    scraped: Scraped, case: Case
) -> None:
    document = _telemetry(scraped.subgraphs[case.id])
    queries = queries_of(document)
    assert queries
    own = {pod for pod, _ in case.own}
    for query in queries:
        assert "group_left() max by (namespace,pod) (kube_pod_labels{" in query, query
        # The query as emitted, but for its aggregations' grouping: it runs, and reads these pods.
        assert pods_selected(scraped.prometheus, by_pod(query)) == own, query
    # The telemetry says how: metrics by labels, logs by pod name.
    datasets = {n["kgx:dataKind"]: n for n in document["@graph"] if "kgx:dataKind" in n}
    assert datasets["time series"]["kgx:podSelection"] == "pod-labels"
    assert datasets["logs"]["kgx:podSelection"] == "pod-name"


def test_the_cases_test_something() -> None:
    """Each case has a pod of another workload that its kind's pod-name pattern takes for the
    workload's (a collision only labels avoid), and a neighbour whose labels differ slightly."""
    for case in CASES:
        (logql,) = [
            n["kgx:logql"] for n in _telemetry(rendered(case, by_labels=()))["@graph"]
            if "kgx:logql" in n
        ]  # fmt: skip
        pattern = json.loads(logql.split("pod=~", 1)[1][:-1])
        assert any(re.fullmatch(pattern, pod) for pod, _ in case.others), (case.id, pattern)
        assert all(re.fullmatch(pattern, pod) for pod, _ in case.own), (case.id, pattern)


async def test_the_library_reads_label_selected_telemetry_back(scraped: Scraped) -> None:
    """Rendered into a store, found by identity, parsed, and its history pulled: every metric
    has values, and the memory of the two pods counts each pod once (one series of value 1 each,
    although kube_pod_labels lists the first pod twice)."""
    case = CASES[0]
    store = open_store(":memory:")
    for subgraph in scraped.subgraphs[case.id]:
        await store.put(subgraph.id, subgraph.document)
    async with MetadataClient(store, owns_sink=True) as metadata:
        telemetry = await metadata.workload_telemetry(
            Settings().cluster_id, case.kind, case.namespace, case.name
        )
    assert telemetry is not None
    assert telemetry.metrics_datasets[0].pod_selection == "pod-labels"
    assert telemetry.logs_datasets[0].pod_selection == "pod-name"
    end = time.time()
    values: dict[str, list[float]] = {}
    async with PrometheusClient(scraped.prometheus.url) as prometheus:
        for metric in telemetry.metrics:
            series = await prometheus.history(metric, start=end - 30, end=end, step=1)
            values[metric.name] = [
                s.value for one in series for s in one.samples if math.isfinite(s.value)
            ]
    assert all(values.values()), values
    assert values["mem_usage"][-1] == pytest.approx(len(case.own) / 1e6)
    assert values["energy_joules"][-1] == len(case.own)
