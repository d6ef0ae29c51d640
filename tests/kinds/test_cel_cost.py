"""CEL's ``map`` and ``filter`` cost the square of their list (kinds/cel.py, MAX_LIST): a hostile
object's huge or nested lists must not block the daemon's event loop, which evaluates the rules of
every event. Each object here took from 30 s to hours in ``extract`` before the rules saw bounded
lists."""

from __future__ import annotations

import time
from typing import Any

from kg_exporter.kinds import bundled_registry
from kg_exporter.kinds.cel import MAX_LIST, MAX_TOTAL, Budget, prune
from kg_exporter.kinds.extract import extract
from kg_exporter.state.lifecycle import Phase

#: Generous for a loaded 2-core machine: each takes well under 1 s here, 30 s to hours before.
DEADLINE = 5.0


def _timed_extract(obj: dict[str, Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    out = extract(obj, bundled_registry())
    return out, time.perf_counter() - start


def test_a_deployment_with_100000_conditions_is_read_at_once_and_says_so() -> None:
    conditions = [{"type": "Progressing", "status": "True", "lastTransitionTime": "x"}] * 100_000
    conditions[0] = {"type": "Available", "status": "True", "lastTransitionTime": "2026-11-01T10:00:00Z"}
    obj = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "ns", "uid": "u1"},
        "spec": {"replicas": 1}, "status": {"availableReplicas": 1, "conditions": conditions},
    }  # fmt: skip
    out, took = _timed_extract(obj)
    assert took < DEADLINE
    assert out.observation.phase is Phase.RUNNING
    assert out.observation.started_at == "2026-11-01T10:00:00Z"
    assert any(f"first {MAX_LIST} items" in p for p in out.problems)


def test_a_jobset_with_100000_replicated_jobs_is_bounded() -> None:
    job = {"name": "w", "template": {"spec": {"template": {"spec": {"containers": [{"name": "c"}]}}}}}
    obj = {
        "apiVersion": "jobset.x-k8s.io/v1alpha2", "kind": "JobSet",
        "metadata": {"name": "js", "namespace": "ns", "uid": "u1"},
        "spec": {"replicatedJobs": [job] * 100_000}, "status": {},
    }  # fmt: skip
    out, took = _timed_extract(obj)
    assert took < DEADLINE
    assert len(out.facts["containers"]) == MAX_LIST


def test_nested_macros_over_a_minicluster_built_for_them_stay_bounded() -> None:
    volumes = {f"v{i}": {"claimName": f"c{i}"} for i in range(300)}
    containers = [{"name": f"c{i}", "volumes": volumes} for i in range(300)]
    obj = {
        "apiVersion": "flux-framework.org/v1alpha2", "kind": "MiniCluster",
        "metadata": {"name": "mc", "namespace": "ns", "uid": "u1"}, "spec": {"containers": containers},
    }  # fmt: skip
    out, took = _timed_extract(obj)
    assert took < DEADLINE
    assert 0 < len(out.facts["claims"]) <= MAX_LIST


def test_the_budget_is_shared_by_every_list_and_untouched_values_are_not_copied() -> None:
    small = {"a": [1, 2, 3], "b": {"c": "d"}}
    assert prune(small, "*") is small
    budget = Budget()
    big = {"lists": [[0] * MAX_LIST for _ in range(MAX_TOTAL // MAX_LIST + 5)]}
    cut = prune(big, "*", budget)
    assert budget.cut
    assert sum(len(x) for x in cut["lists"]) + len(cut["lists"]) + 1 <= MAX_TOTAL
    assert all(len(x) <= MAX_LIST for x in cut["lists"])
