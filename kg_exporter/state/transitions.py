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
timed by the clock is their kind entry's ``lifecycle.times: observed``.
"""

from __future__ import annotations

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
            return graph
        started = now if clock_timed else (observed.started_at or now)
        return Lifecycle(Phase.RUNNING, started_at=started)
    # STOPPED
    if graph is not None and graph.phase is Phase.STOPPED:
        return graph
    ended = observed.ended_at or now
    if graph is not None:  # RUNNING → STOPPED
        return Lifecycle(
            Phase.STOPPED, started_at=graph.started_at, ended_at=ended, outcome=observed.outcome
        )
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


def deleted(graph: Lifecycle | None, now: str) -> Lifecycle | None:
    """The lifecycle after the object was deleted (or vanished while the watch was down)."""
    if graph is None or graph.phase is Phase.STOPPED:
        return graph
    return Lifecycle(Phase.STOPPED, started_at=graph.started_at, ended_at=now)


def is_tentative(lifecycle: Lifecycle) -> bool:
    """A stop with no known start: write it only over a graph that says running."""
    return lifecycle.phase is Phase.STOPPED and lifecycle.started_at is None
