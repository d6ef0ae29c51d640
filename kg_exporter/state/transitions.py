"""What the graph should say next about a workload: pure functions of what it says now, what the
object says (an :class:`~kg_exporter.state.lifecycle.Observation`) and the time.

The graph only ever holds RUNNING or STOPPED: PENDING (created but not started, or between replicas
during a rollout) never changes it, so a Deployment created with no available replica is never
written, and a crash loop after the first replica is not a stop.

Times: a Job says when it started and ended (``status.startTime``, ``completionTime``), so those
are used. A Deployment or StatefulSet does not say when it got its first replica (its creation time
is not that, nor is the Available condition, which is True at 0 replicas), so the time we saw the
change is used — except for objects found already running when the daemon starts (``seen_live`` is
False), where the object's own best guess is better than the daemon's start time. Which kinds are
timed by the clock is their kind entry's ``lifecycle.times: observed``. A start an object states
(:attr:`Observation.start_known`: a Job's, or a JobSet's Jobs') replaces a guess the graph holds,
and an earlier one a later one: the daemon may hear of a JobSet running before its Jobs' times.
A start stated before the stop a workload resumes after (:attr:`Lifecycle.resumed_after`) is the
previous run's and never used.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from kg_exporter.render.facts import Lifecycle
from kg_exporter.state.lifecycle import Observation, Phase


def advance(
    graph: Lifecycle | None,
    observed: Observation,
    now: str,
    *,
    clock_timed: bool = False,
    seen_live: bool = True,
) -> Lifecycle | None:
    """The lifecycle the graph should hold after ``observed``; ``graph`` when nothing changes.

    ``None`` means the workload was never seen to start and nothing should be written. ``now`` is
    the current time (RFC 3339), used where the object does not say. ``clock_timed``: the kind's
    start times are when the daemon saw the change (see the module docstring).
    """
    clock_timed = clock_timed and seen_live
    if observed.phase is Phase.PENDING:
        return graph
    if observed.phase is Phase.RUNNING:
        if graph is not None and graph.phase is Phase.RUNNING:
            if _better_start(graph, observed):
                return replace(graph, started_at=observed.started_at, start_known=True)
            return graph
        # Running again after a stop seen live (a resumed JobSet): not after one that a relist's
        # order made (an Ensemble's first members listed with their Jobs, the others not yet).
        stop = graph.ended_at if graph is not None and seen_live else None
        if observed.start_known and not _earlier(observed.started_at, stop):
            return Lifecycle(
                Phase.RUNNING, observed.started_at, start_known=True, resumed_after=stop
            )
        started = now if clock_timed else (observed.started_at or now)
        return Lifecycle(Phase.RUNNING, started_at=started, resumed_after=stop)
    # STOPPED
    if graph is not None and graph.phase is Phase.STOPPED:
        if _better_start(graph, observed):
            return replace(graph, started_at=observed.started_at, start_known=True)
        return graph
    ended = observed.ended_at or now
    if graph is not None:  # RUNNING → STOPPED
        stopped = replace(graph, phase=Phase.STOPPED, ended_at=ended, outcome=observed.outcome)
        if _better_start(graph, observed):
            return replace(stopped, started_at=observed.started_at, start_known=True)
        return stopped
    if observed.started_at is not None:
        # First seen already ended (a Job that completed): it ran, so it belongs in the graph.
        return Lifecycle(
            Phase.STOPPED,
            started_at=observed.started_at,
            ended_at=ended,
            outcome=observed.outcome,
        )
    if not seen_live:
        # Found scaled to 0 at start-up: it may have been running when the daemon went down.
        # Without a start time this is a tentative stop: written only if the graph says running.
        return Lifecycle(Phase.STOPPED, ended_at=now)
    return None


def _better_start(graph: Lifecycle, observed: Observation) -> bool:
    """The object now states when it started, and the graph holds a guess (the clock's, the
    creation time: a JobSet seen running before the daemon heard of its Jobs' start times) or a
    later start (the Job that started first was heard of last). A start before the stop the
    workload resumed after is the last run's, not this one's."""
    if not observed.start_known or observed.started_at in (None, graph.started_at):
        return False
    if _earlier(observed.started_at, graph.resumed_after):
        return False
    if not graph.start_known:
        return not same_instant(graph.started_at, observed.started_at)
    return graph.started_at is not None and _earlier(observed.started_at, graph.started_at)


def _earlier(a: str | None, b: str | None) -> bool:
    """``a`` is before ``b`` (False when either is unknown or unreadable)."""
    if a is None or b is None:
        return False
    try:
        return _parse(a) < _parse(b)
    except ValueError:
        return False


def same_instant(a: str | None, b: str | None) -> bool:
    """The same time, as instants (the store may write ``.970Z`` as ``.97Z``)."""
    if a is None or b is None:
        return a is b
    try:
        return _parse(a) == _parse(b)
    except ValueError:
        return a == b


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))


def deleted(graph: Lifecycle | None, now: str) -> Lifecycle | None:
    """The lifecycle after the object was deleted (or vanished while the watch was down)."""
    if graph is None or graph.phase is Phase.STOPPED:
        return graph
    return Lifecycle(Phase.STOPPED, started_at=graph.started_at, ended_at=now)


def is_tentative(lifecycle: Lifecycle) -> bool:
    """A stop with no known start: write it only over a graph that says running."""
    return lifecycle.phase is Phase.STOPPED and lifecycle.started_at is None
