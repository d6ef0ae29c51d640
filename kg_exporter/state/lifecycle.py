"""Start/stop rules: pure functions of one Kubernetes object (see docs/graph-model.md and mission).

| kind        | running when                                  | stopped when                                 |
| ----------- | --------------------------------------------- | -------------------------------------------- |
| Deployment  | ``status.availableReplicas >= 1``             | scaled to 0 with none available, or deleted  |
| StatefulSet | ``status.readyReplicas >= 1``                 | scaled to 0 with none ready, or deleted      |
| Job         | ``status.startTime`` set or ``active >= 1``   | condition Complete/Failed True, or deleted   |

Anything else is PENDING: created but never started (no write), or between replicas during a rollout
that has not scaled to 0 (which keeps whatever phase it had; see :func:`next_phase`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from kg_exporter.objects import mapping as _mapping
from kg_exporter.objects import timestamp


class Phase(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    STOPPED = "stopped"


class Outcome(StrEnum):
    """How a Job ended; other kinds end without an outcome."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Observation:
    """What one object's current state says about its lifecycle."""

    phase: Phase
    #: When the object says it started / ended (RFC 3339), if it says so.
    started_at: str | None = None
    ended_at: str | None = None
    outcome: Outcome | None = None


def _count(status: Mapping[str, Any], field: str) -> int:
    value = status.get(field)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _replicas(obj: Mapping[str, Any]) -> int:
    value = _mapping(obj.get("spec")).get("replicas", 1)
    return value if isinstance(value, int) and not isinstance(value, bool) else 1


def _condition(status: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    conditions = status.get("conditions")
    if not isinstance(conditions, list):
        return None
    for condition in conditions:
        condition = _mapping(condition)
        if condition.get("type") == kind and condition.get("status") == "True":
            return condition
    return None


def _created(obj: Mapping[str, Any]) -> str | None:
    return timestamp(_mapping(obj.get("metadata")).get("creationTimestamp"))


def observe_replicated(obj: Mapping[str, Any], ready_field: str) -> Observation:
    """Deployments (``availableReplicas``) and StatefulSets (``readyReplicas``)."""
    status = _mapping(obj.get("status"))
    if _count(status, ready_field) >= 1:
        available = _condition(status, "Available")
        since = timestamp(available.get("lastTransitionTime")) if available else None
        return Observation(Phase.RUNNING, started_at=since or _created(obj))
    if _replicas(obj) == 0:
        return Observation(Phase.STOPPED)
    return Observation(Phase.PENDING)


def observe_deployment(obj: Mapping[str, Any]) -> Observation:
    return observe_replicated(obj, "availableReplicas")


def observe_statefulset(obj: Mapping[str, Any]) -> Observation:
    return observe_replicated(obj, "readyReplicas")


def observe_job(obj: Mapping[str, Any]) -> Observation:
    status = _mapping(obj.get("status"))
    started = timestamp(status.get("startTime"))
    for condition_type, outcome in (("Complete", Outcome.SUCCEEDED), ("Failed", Outcome.FAILED)):
        condition = _condition(status, condition_type)
        if condition is not None:
            ended = timestamp(status.get("completionTime")) or timestamp(
                condition.get("lastTransitionTime")
            )
            return Observation(Phase.STOPPED, started_at=started, ended_at=ended, outcome=outcome)
    if started or _count(status, "active") >= 1:
        return Observation(Phase.RUNNING, started_at=started or _created(obj))
    return Observation(Phase.PENDING)


def next_phase(previous: Phase | None, observed: Phase) -> Phase:
    """The phase to record given what we had and what the object says now.

    A replicated workload between its first replica and scale-to-zero can report 0 available
    replicas (a rollout, a crash loop): that is not a stop, so PENDING never replaces RUNNING.
    """
    if observed is Phase.PENDING and previous is Phase.RUNNING:
        return Phase.RUNNING
    return observed
