"""The lifecycle vocabulary: phases, outcomes, what one object says (:class:`Observation`).

Each kind's rules (CEL, in its kind entry: kg_exporter/kinds/bundled.yaml) turn an object into an
Observation (:func:`kg_exporter.kinds.extract`); :func:`combine` joins a workload's with its
children's. Anything not running or stopped is PENDING: created but never started (no write), or
between replicas during a rollout that has not scaled to 0 (which keeps whatever phase it had; see
:func:`next_phase`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
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
    #: ``started_at`` is a time an object states (a Job's ``startTime``; a child's, for a
    #: workload whose times are its children's), not a guess: its creation time, or the rule of a
    #: kind whose times are the daemon's clock. A known start replaces a guessed one the graph
    #: holds (see :func:`kg_exporter.state.transitions.advance`).
    start_known: bool = False


def _earliest(children: Sequence[Observation], *, known: bool = False) -> Observation | None:
    """The child that started first (among those whose start is known, with ``known``)."""
    started = [c for c in children if c.started_at and (c.start_known or not known)]
    return min(started, key=lambda c: c.started_at or "") if started else None


def combine(own: Observation, children: Sequence[Observation]) -> Observation:
    """A workload whose lifecycle is its children's (a MetricSet's JobSet, an Ensemble's
    MiniClusters): running while any child runs, stopped once every child has (failed if any
    failed, succeeded if all did), from the first start to the last end. Until a child is seen,
    the workload's own rules say."""
    if not children:
        return own
    first = _earliest(children)
    if any(c.phase is Phase.RUNNING for c in children):
        if first is None:
            return Observation(Phase.RUNNING, own.started_at, start_known=own.start_known)
        return Observation(Phase.RUNNING, first.started_at, start_known=first.start_known)
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
            started_at=first.started_at if first else None,
            ended_at=ends[-1] if ends else None,
            outcome=outcome,
            start_known=first.start_known if first else False,
        )
    return Observation(Phase.PENDING)


def timed_by(
    own: Observation, children: Sequence[Observation], gone: Sequence[Observation] = ()
) -> Observation:
    """A workload whose times are its children's (a JobSet's Jobs; its entry's ``times: true``
    children): unless it states a start of its own, it started when the first of them did (as
    they state it); stopped without an end of its own, it ended when the last of them did, once
    all have ended. Its phase and outcome stay its own. Children that are ``gone`` (deleted)
    count once it has stopped (a finished JobSet's Jobs are deleted), not while it runs: they
    may be of a run before a suspension."""
    if own.phase is Phase.PENDING or own.start_known:
        return own
    if own.phase is Phase.STOPPED:
        children = [*children, *gone]
    first = _earliest(children, known=True)
    if first is None:
        return own
    ended = own.ended_at
    if (
        own.phase is Phase.STOPPED
        and ended is None
        and all(c.phase is Phase.STOPPED for c in children)
    ):
        ends = sorted(c.ended_at for c in children if c.ended_at)
        ended = ends[-1] if ends else None
    return replace(own, started_at=first.started_at, ended_at=ended, start_known=True)


def next_phase(previous: Phase | None, observed: Phase) -> Phase:
    """The phase to record given what we had and what the object says now.

    A replicated workload between its first replica and scale-to-zero can report 0 available
    replicas (a rollout, a crash loop): that is not a stop, so PENDING never replaces RUNNING.
    """
    if observed is Phase.PENDING and previous is Phase.RUNNING:
        return Phase.RUNNING
    return observed
