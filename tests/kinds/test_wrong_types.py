"""Wrong-typed counts and times in the bundled kinds' rules: Kubernetes sends int32 counts and
RFC 3339 strings, and CEL compares a double with an int (``1e300 >= 1`` is true), so every rule
that reads a count checks that it is an int. A value of another type leaves the object pending,
as the pre-CEL code did, never running or stopped and never a crash.

Each case gives the field, a value of the right type that decides the phase (so the table can
fail), and the phase it decides; every wrong-typed value must give PENDING instead."""

from __future__ import annotations

import re
from typing import Any

import pytest

from kg_exporter.kinds import bundled_registry, extract
from kg_exporter.state.lifecycle import Phase

WRONG: list[Any] = [
    1e300, 1.0, 0.0, -0.0, float("inf"), float("nan"), "1", "0", True, False, [1], {"n": 1},
    2**70, -(2**70),
]  # fmt: skip

# (kind, spec, status, path of the field under test, the right value, the phase it gives).
# DaemonSet and JobSet are bundled with issue 12's other kinds; their cases apply once they are.
CASES: list[tuple[str, dict[str, Any], dict[str, Any], tuple[str, ...], Any, Phase]] = [
    ("Deployment", {"replicas": 1}, {}, ("status", "availableReplicas"), 1, Phase.RUNNING),
    ("Deployment", {}, {}, ("spec", "replicas"), 0, Phase.STOPPED),
    ("StatefulSet", {"replicas": 1}, {}, ("status", "readyReplicas"), 1, Phase.RUNNING),
    ("StatefulSet", {}, {}, ("spec", "replicas"), 0, Phase.STOPPED),
    ("Job", {}, {}, ("status", "active"), 1, Phase.RUNNING),
    ("Job", {}, {}, ("status", "startTime"), "2026-11-21T10:00:00Z", Phase.RUNNING),
    ("DaemonSet", {}, {}, ("status", "numberAvailable"), 1, Phase.RUNNING),
    ("DaemonSet", {}, {}, ("status", "desiredNumberScheduled"), 0, Phase.STOPPED),
    ("JobSet", {}, {}, ("status", "replicatedJobsStatus", 0, "active"), 1, Phase.RUNNING),
    ("JobSet", {}, {}, ("status", "ReplicatedJobsStatus", 0, "active"), 1, Phase.RUNNING),
]
BUNDLED = bundled_registry()


def nested(path: tuple[Any, ...], value: Any) -> Any:
    """``value`` at ``path`` (an int step is the first item of a list)."""
    if not path:
        return value
    inner = nested(path[1:], value)
    return [inner] if isinstance(path[0], int) else {path[0]: inner}


def phase(
    kind: str, spec: dict[str, Any], status: dict[str, Any], path: tuple[Any, ...], value: Any
) -> Phase:
    meta = {"name": "x", "namespace": "default", "creationTimestamp": "2026-11-21T09:00:00Z"}
    obj: dict[str, Any] = {"kind": kind, "metadata": meta, "spec": spec, "status": status}
    obj[path[0]] = {**obj[path[0]], **nested(path[1:], value)}
    return extract(obj, BUNDLED).observation.phase


@pytest.mark.parametrize(
    ("kind", "spec", "status", "path", "right", "decides"),
    [c for c in CASES if c[0] in BUNDLED],
    ids=[f"{c[0]}-{'.'.join(map(str, c[3]))}" for c in CASES if c[0] in BUNDLED],
)
def test_a_wrong_typed_count_or_time_leaves_the_object_pending(
    kind: str,
    spec: dict[str, Any],
    status: dict[str, Any],
    path: tuple[Any, ...],
    right: Any,
    decides: Phase,
) -> None:
    assert phase(kind, spec, status, path, right) is decides
    wrong = [v for v in WRONG if not (type(v) is type(right) and v == right)]
    if isinstance(right, str):
        wrong += [12, 1.5e9, "yesterday"]
    got = {repr(v): phase(kind, spec, status, path, v) for v in wrong}
    assert got == {repr(v): Phase.PENDING for v in wrong}


def test_every_bundled_rule_that_compares_with_a_number_has_a_case() -> None:
    """A kind added to bundled.yaml whose lifecycle compares a field with a number needs a row."""
    covered = {c[0] for c in CASES}
    comparing = {
        name
        for name in BUNDLED
        for rule_name, rule in BUNDLED[name].rules.items()
        if rule_name.startswith("lifecycle.") and re.search(r"[<>=]=?\s*[0-9]", rule.source)
    }
    assert comparing <= covered, f"no wrong-type cases for {sorted(comparing - covered)}"
