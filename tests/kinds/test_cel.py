"""CEL as the kinds use it: what an expression can reach, and that cutting an object down to that
changes no result; a rule that cannot read an object leaves it pending and says so once."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kg_exporter.kinds import bundled_registry, extract
from kg_exporter.kinds.cel import ELEMENT, FULL, EvaluationError, context_for, needed_paths, prune
from kg_exporter.state.lifecycle import Phase
from kg_exporter.state.workloads import WorkloadTable


@pytest.mark.parametrize(
    ("source", "paths"),
    [
        ("object.status.ready >= 1", [("status", "ready", FULL)]),
        ("has(object.status) && has(object.status.x)", [("status",), ("status", "x")]),
        (
            'object.status.conditions.exists(c, c.type == "A")',
            [("status", "conditions", ELEMENT), ("status", "conditions", ELEMENT, "type", FULL)],
        ),
        ("object.spec.items.filter(i, i.on)", [("spec", "items", ELEMENT, FULL), ("spec", "items", ELEMENT, "on", FULL)]),
        ("size(object.spec.items)", [("spec", "items", FULL)]),
        ('object.metadata.labels["app"]', [("metadata", "labels", FULL)]),
        ("object.metadata.name.startsWith('x')", [("metadata", "name", FULL)]),
        ('"object.secret" == object.a', [("a", FULL)]),  # text in strings is not a path
        ("object", [(FULL,)]),
    ],
)  # fmt: skip
def test_what_an_expression_can_reach(source: str, paths: list[tuple[str, ...]]) -> None:
    assert needed_paths(source) == paths


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(["", "True", "Available", "Complete", "Failed", "2026-01-01T00:00:00Z"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["type", "status", "active", "x", "lastTransitionTime"]), inner, max_size=3),
    max_leaves=12,
)  # fmt: skip
fields = ["availableReplicas", "readyReplicas", "active", "startTime", "completionTime", "conditions",
          "replicatedJobsStatus", "ReplicatedJobsStatus", "desiredNumberScheduled", "numberAvailable"]  # fmt: skip
statuses = st.one_of(json_values, st.dictionaries(st.sampled_from(fields), json_values, max_size=4))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(sorted(bundled_registry())),
    status=statuses,
    spec=st.one_of(json_values, st.dictionaries(st.sampled_from(["replicas", "suspend", "template"]), json_values)),
    metadata=st.dictionaries(st.sampled_from(["name", "creationTimestamp", "annotations"]), json_values),
)  # fmt: skip
def test_the_cut_down_object_gives_the_same_results(
    kind: str, status: Any, spec: Any, metadata: Any
) -> None:
    obj = {"kind": kind, "metadata": metadata, "spec": spec, "status": status}
    kind_spec = bundled_registry()[kind]
    whole, pruned = context_for(obj), context_for(prune(obj, kind_spec.needs))
    for rule in [*kind_spec.rules.values(), kind_spec.lifecycle]:
        if rule is None or rule.program is None:
            continue
        results = []
        for context in (whole, pruned):
            try:
                results.append(rule.evaluate(context, obj))
            except EvaluationError as exc:
                results.append(("error", exc.missing))
        assert results[0] == results[1], rule.source


def test_a_rule_that_cannot_read_an_object_leaves_it_pending_and_says_so_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    table = WorkloadTable(lambda: "2026-01-01T00:00:00Z")
    odd: dict[str, Any] = {"kind": "Job", "metadata": {"name": "j"}, "status": "Running"}
    with caplog.at_level(logging.WARNING, "kg_exporter.state"):
        for _ in range(3):
            assert table.apply(odd) is None
    assert extract(odd, bundled_registry()).observation.phase is Phase.PENDING
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1
    assert "Job/default/j" in lines[0] and "lifecycle.stopped" in lines[0]
