"""The lifecycle vocabulary: phases, outcomes, what one object says (:class:`Observation`).

Each kind's rules (CEL, in its kind entry: kg_exporter/kinds/bundled.yaml) turn an object into an
Observation (:func:`kg_exporter.kinds.extract`); :func:`combine` joins a workload's with its
children's. Anything not running or stopped is PENDING: created but never started (no write), or
between replicas during a rollout that has not scaled to 0 (which keeps whatever phase it had; see
:func:`next_phase`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


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


def combine(own: Observation, children: Sequence[Observation]) -> Observation:
    """A workload whose lifecycle is its children's (a MetricSet's JobSet, an Ensemble's
    MiniClusters): running while any child runs, stopped once every child has (failed if any
    failed, succeeded if all did), from the first start to the last end. Until a child is seen,
    the workload's own rules say."""
    if not children:
        return own
    starts = sorted(c.started_at for c in children if c.started_at)
    if any(c.phase is Phase.RUNNING for c in children):
        return Observation(Phase.RUNNING, started_at=starts[0] if starts else own.started_at)
    if all(c.phase is Phase.STOPPED for c in children):
        outcomes = {c.outcome for c in children}
        if Outcome.FAILED in outcomes:
            outcome: Outcome | None = Outcome.FAILED
        elif outcomes == {Outcome.SUCCEEDED}:
            outcome = Outcome.SUCCEEDED
        else:
            outcome = None
        ends = sorted(c.ended_at for c in children if c.ended_at)
        return Observation(
            Phase.STOPPED,
            started_at=starts[0] if starts else None,
            ended_at=ends[-1] if ends else None,
            outcome=outcome,
        )
    return Observation(Phase.PENDING)


def next_phase(previous: Phase | None, observed: Phase) -> Phase:
    """The phase to record given what we had and what the object says now.

    A replicated workload between its first replica and scale-to-zero can report 0 available
    replicas (a rollout, a crash loop): that is not a stop, so PENDING never replaces RUNNING.
    """
    if observed is Phase.PENDING and previous is Phase.RUNNING:
        return Phase.RUNNING
    return observed
