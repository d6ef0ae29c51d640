"""How a kind's pods are selected: pod-name patterns from the characters Kubernetes generates, and
the opt-in selection by labels (kube-state-metrics' label names, the object's label map, what
happens when it cannot be used). PromQL on a real Prometheus: tests/render/test_pod_*_prometheus.py.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kg_exporter.identity import ObjectKey
from kg_exporter.kinds import extract
from kg_exporter.kinds.podnames import ALPHABET, HASH_ALPHABET, expand
from kg_exporter.kinds.registry import build_registry, bundled_entries, bundled_registry
from kg_exporter.manifests import Manifest, read_manifests
from kg_exporter.render.batch import Skipped, render_objects
from kg_exporter.render.facts import Lifecycle
from kg_exporter.render.podlabels import colliding_keys, ksm_label_name, pod_label_join
from kg_exporter.render.renderer import Renderer, Subgraph
from kg_exporter.settings import load_settings
from kg_exporter.state.lifecycle import Phase
from kg_exporter.state.projection import decode
from kg_exporter.state.workloads import WorkloadTable
from kg_exporter.validate import assert_valid
from tests.conftest import EXAMPLES
from tests.kinds.test_hostile import hostile
from tests.render import fixtures as f


def test_the_generated_characters_are_those_of_kubernetes() -> None:
    assert ALPHABET == "bcdfghjklmnpqrstvwxz2456789"
    assert not set("aeiou013") & set(ALPHABET)
    # SafeEncodeString maps the ASCII digits (48-57) modulo 27 into the alphabet.
    assert HASH_ALPHABET == "456789bcdf"
    assert expand("-{hash}-{random}") == "-[456789bcdf]{1,10}-[bcdfghjklmnpqrstvwxz2456789]{5}"


@pytest.mark.parametrize(
    ("kind", "name", "pods", "not_pods"),
    [
        ("Deployment", "web", ["web-7d9c5b8f4-x2k9p", "web-5-b7m4q"], ["web-api-x2k9p", "web-29389560-x2k9p", "web-7d9c5b8f4a-x2k9p", "web-7d9c5b8f4-x2k9"]),
        ("StatefulSet", "db", ["db-0", "db-12"], ["db-01", "db-0x", "db--1"]),
        ("Job", "report", ["report-x2k9p", "report-0-x2k9p", "report-14-zt5wh"], ["report-admin", "report-01-x2k9p", "report-api-x2k9p"]),
        ("DaemonSet", "agent", ["agent-x2k9p"], ["agent-proxy", "agent-12345", "agent-x2k9pp"]),
        ("CronJob", "backup", ["backup-29389560-x2k9p", "backup-29389560-3-x2k9p"], ["backup-0-x2k9p", "backup-db-x2k9p"]),
    ],
)  # fmt: skip
def test_bundled_name_patterns_take_generated_names_only(
    kind: str, name: str, pods: list[str], not_pods: list[str]
) -> None:
    pattern = re.escape(name) + bundled_registry()[kind].pod_suffix
    for pod in pods:
        assert re.fullmatch(pattern, pod), (pattern, pod)
    for pod in not_pods:
        assert not re.fullmatch(pattern, pod), (pattern, pod)


@pytest.mark.parametrize(
    ("key", "name"),
    [
        ("app", "label_app"),
        ("app.kubernetes.io/name", "label_app_kubernetes_io_name"),
        ("jobset.sigs.k8s.io/jobset-name", "label_jobset_sigs_k8s_io_jobset_name"),
        ("pod-template-hash", "label_pod_template_hash"),
        ("myApp", "label_my_app"),  # kube-state-metrics also splits camel case
        ("HTTPServer", "label_httpserver"),
        ("v2Beta", "label_v2_beta"),
        ('x"}{\n', "label_x____"),
    ],
)
def test_label_names_are_those_kube_state_metrics_exports(key: str, name: str) -> None:
    assert ksm_label_name(key) == name


def test_keys_that_become_one_label_name_are_found() -> None:
    assert colliding_keys(["a.b", "a/b", "c", "myApp", "my_app"]) == [
        "a.b",
        "a/b",
        "myApp",
        "my_app",
    ]
    assert colliding_keys(["app", "app.kubernetes.io/name"]) == []


def test_the_join_escapes_values_and_unions_parts() -> None:
    join = pod_label_join(
        [{"labels": [["app", 'a"}\\\n']]}, {"regex": "b-[0-9]+"}, {"labels": [["app", 'a"}\\\n']]}],
        'n"s',
        "k8s_namespace",
        "k8s_pod",
    )
    assert join == (
        " * on(k8s_namespace,k8s_pod) group_left() max by (k8s_namespace,k8s_pod) ("
        'kube_pod_labels{k8s_namespace="n\\"s",label_app="a\\"}\\\\\\n"} or '
        'kube_pod_labels{k8s_namespace="n\\"s",k8s_pod=~"b-[0-9]+"})'
    )


def _opted_in(kind: str) -> Any:
    entries = []
    for entry in bundled_entries():
        if entry.kind == kind:
            pods = entry.pods.model_copy(update={"select_by": "labels"})
            entry = entry.model_copy(update={"pods": pods})
        entries.append(entry)
    return build_registry([("test", entries)])


def _deployment(match_labels: object) -> dict[str, Any]:
    obj = f.deployment(availableReplicas=1)
    obj["spec"]["selector"] = {"matchLabels": match_labels}
    return obj


def test_a_kind_opted_in_states_its_pods_labels_and_others_do_not() -> None:
    obj = _deployment({"app": "web", "tier": "front"})
    opted = extract(obj, _opted_in("Deployment"))
    assert opted.facts["pod_labels"] == [["app", "web"], ["tier", "front"]]
    assert opted.problems == ()
    assert "pod_labels" not in extract(obj, bundled_registry()).facts
    # Without a selector, by name: nothing to say (most objects lack most fields).
    del obj["spec"]["selector"]
    assert "pod_labels" not in extract(obj, _opted_in("Deployment")).facts


@pytest.mark.parametrize(
    ("match_labels", "problem"),
    [
        ("app=web", "pods.labels: gave str, not a map; pods by name"),
        ({"app": 1}, "pods.labels: keys and values must be non-empty strings; pods by name"),
        ({"a.b": "x", "a/b": "y"}, "pods.labels: a.b, a/b are one label name in kube-state-metrics; pods by name"),
    ],
)  # fmt: skip
def test_labels_that_cannot_select_leave_the_pods_to_their_names(
    match_labels: object, problem: str
) -> None:
    extracted = extract(_deployment(match_labels), _opted_in("Deployment"))
    assert "pod_labels" not in extracted.facts
    assert problem in extracted.problems
    assert extracted.observation.phase.value == "running"  # a path, not a rule: still running


_MATCHER = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)(=~|=)"((?:[^"\\]|\\.)*)"')
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n", "r": "\r", "t": "\t"}


def _unquote(text: str) -> str:
    return re.sub(
        r"\\(x[0-9a-f]{2}|.)",
        lambda m: chr(int(m.group(1)[1:], 16)) if len(m.group(1)) == 3 else _ESCAPES[m.group(1)],
        text,
    )


@settings(max_examples=60, deadline=None)
@given(
    labels=st.dictionaries(st.text(min_size=1, max_size=12), st.text(max_size=12), max_size=4),
    namespace=st.text(max_size=8),
)
def test_hostile_keys_and_values_stay_inside_their_matchers(
    labels: dict[str, str], namespace: str
) -> None:
    """Whatever the keys and values, the join holds exactly the matchers it was given: label names
    are kube-state-metrics' (never anything else), values decode to themselves."""
    pairs = [[k, v] for k, v in sorted(labels.items())]
    join = pod_label_join([{"labels": pairs}], namespace, "namespace", "pod")
    inner = join.split("(kube_pod_labels{", 1)[1]
    assert inner.endswith("})")
    found = [(m[1], m[2], _unquote(m[3])) for m in _MATCHER.finditer(inner[:-2])]
    expected = [("namespace", "=", namespace)] + [(ksm_label_name(k), "=", v) for k, v in pairs]
    assert found == expected
    # Nothing but the matchers and their commas between the braces.
    assert _MATCHER.sub("", inner[:-2]).replace(",", "") == ""


def _all_opted_in() -> Any:
    kinds = tuple(e.kind for e in bundled_entries() if e.pods.labels is not None)
    entries = [
        e.model_copy(update={"pods": e.pods.model_copy(update={"select_by": "labels"})})
        if e.kind in kinds
        else e
        for e in bundled_entries()
    ]
    return build_registry([("every kind by labels", entries)])


ALL_BY_LABELS = _all_opted_in()


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(objects=st.lists(hostile(), min_size=1, max_size=3))
def test_hostile_objects_of_kinds_selecting_by_labels_render_valid_documents(
    objects: list[dict[str, Any]],
) -> None:
    renderer = Renderer(load_settings(), kinds=ALL_BY_LABELS)
    for result in render_objects(
        ((o, "x") for o in objects), renderer, include_glaciation_node=False
    ):
        if isinstance(result, Subgraph):
            assert_valid(result)
        else:
            assert isinstance(result, Skipped)


def _daemon_documents(kinds: Any, objects: list[dict[str, Any]], key: Any) -> list[str]:
    """The PromQL the daemon would write for ``key``: from its table's encoded projections."""
    table = WorkloadTable(lambda: "2026-11-21T12:00:00Z", kinds)
    for obj in objects:
        if obj["kind"] in kinds:  # not the pods the examples show
            table.apply(obj)
    record = table.get(key)
    assert record is not None
    inherited = [decode(p) for p in table.inherited(key)]
    lifecycle = Lifecycle(Phase.RUNNING, started_at="2026-11-21T11:00:09Z")
    renderer = Renderer(load_settings(), kinds=kinds)
    _, telemetry = renderer.workload_from(decode(record.projection), lifecycle, inherited=inherited)
    queries = [n["kgx:promql"] for n in telemetry.document["@graph"] if "kgx:promql" in n]
    assert queries
    return queries


def _example(file: str, kind: str) -> tuple[list[dict[str, Any]], ObjectKey]:
    """The objects of ``examples/kinds/<file>``, and the key of its one object of ``kind``."""
    objects = [
        m.obj for m in read_manifests([EXAMPLES / "kinds" / file]) if isinstance(m, Manifest)
    ]
    (obj,) = [o for o in objects if o["kind"] == kind]
    return objects, ObjectKey(kind, obj["metadata"]["namespace"], obj["metadata"]["name"])


def test_the_daemon_keeps_what_selects_by_labels_in_its_projections() -> None:
    """Through the daemon's table (encoded projections, children folded in): a MetricSet opted in
    selects by its own label only, though its JobSet selects by name; an Ensemble, which has no
    label of its own, selects its members by theirs and keeps its own pods by name."""
    metricset, key = _example("metricset.yaml", "MetricSet")
    for query in _daemon_documents(_opted_in("MetricSet"), metricset, key):
        selection = query.split("group_left()", 1)[1]
        assert f'label_metricset_name="{key.name}"' in selection and "pod=~" not in selection
    ensemble, key = _example("ensemble.yaml", "Ensemble")
    for query in _daemon_documents(_opted_in("MiniCluster"), ensemble, key):
        selection = query.split("group_left()", 1)[1]
        assert f'label_batch_kubernetes_io_job_name="{key.name}-0"' in selection
        assert f'pod=~"{key.name}-' in selection  # its own pods and its gRPC Deployment's
