"""The lifecycle transitions table: (what the graph says, what the object says) → what it says next."""

from __future__ import annotations

import pytest

from kg_exporter.kinds import bundled_registry
from kg_exporter.render.facts import Lifecycle
from kg_exporter.state.lifecycle import Observation, Outcome, Phase, next_phase
from kg_exporter.state.transitions import advance, deleted, is_tentative

NOW = "2026-11-01T12:00:00.000Z"
T0 = "2026-11-01T09:00:00Z"
T1 = "2026-11-01T10:00:00Z"
RUN = Lifecycle(Phase.RUNNING, started_at=T0)
STOP = Lifecycle(Phase.STOPPED, started_at=T0, ended_at=T1)
P, R, S = Phase.PENDING, Phase.RUNNING, Phase.STOPPED


@pytest.mark.parametrize(
    ("kind", "graph", "observed", "live", "expected"),
    [
        # Created without a replica: nothing to write.
        ("Deployment", None, Observation(P), True, None),
        # First replica: running since we saw it (a Deployment does not say when).
        ("Deployment", None, Observation(R, started_at=T0), True, Lifecycle(R, NOW)),
        # ...but found running at start-up: the object's own guess is better than our start.
        ("Deployment", None, Observation(R, started_at=T0), False, Lifecycle(R, T0)),
        # Status churn while running: no change (the same object, so no write).
        ("Deployment", RUN, Observation(R, started_at=T1), True, RUN),
        # A rollout / crash loop with 0 available but replicas > 0 is not a stop.
        ("Deployment", RUN, Observation(P), True, RUN),
        # Scaled to 0: stopped now, start kept.
        ("Deployment", RUN, Observation(S), True, Lifecycle(S, T0, NOW)),
        # Scaled up again: running again, from now.
        ("Deployment", STOP, Observation(R, started_at=T0), True, Lifecycle(R, NOW)),
        # Pending after a stop keeps the stop.
        ("StatefulSet", STOP, Observation(P), True, STOP),
        # Created with replicas 0 while watching: never ran, nothing to write.
        ("StatefulSet", None, Observation(S), True, None),
        # Found at 0 at start-up: a tentative stop (written only over a running graph).
        ("StatefulSet", None, Observation(S), False, Lifecycle(S, None, NOW)),
        # Jobs say when they started and ended, and how.
        ("Job", None, Observation(R, started_at=T0), True, Lifecycle(R, T0)),
        (
            "Job",
            Lifecycle(R, T0),
            Observation(S, T0, T1, Outcome.SUCCEEDED),
            True,
            Lifecycle(S, T0, T1, Outcome.SUCCEEDED),
        ),
        (
            "Job",
            Lifecycle(R, T0),
            Observation(S, T0, None, Outcome.FAILED),
            True,
            Lifecycle(S, T0, NOW, Outcome.FAILED),
        ),
        # A Job first seen already finished still ran: it is written, stopped.
        (
            "Job",
            None,
            Observation(S, T0, T1, Outcome.FAILED),
            True,
            Lifecycle(S, T0, T1, Outcome.FAILED),
        ),
        # An ended Job stays ended.
        ("Job", Lifecycle(S, T0, T1, Outcome.SUCCEEDED), Observation(S, T0, T1, Outcome.SUCCEEDED),
         True, Lifecycle(S, T0, T1, Outcome.SUCCEEDED)),
    ],
)  # fmt: skip
def test_advance(
    kind: str,
    graph: Lifecycle | None,
    observed: Observation,
    live: bool,
    expected: Lifecycle | None,
) -> None:
    clock_timed = bundled_registry()[kind].clock_timed
    assert advance(graph, observed, NOW, clock_timed=clock_timed, seen_live=live) == expected


def test_unchanged_graph_is_the_same_object() -> None:
    # The state table relies on identity to know nothing changed.
    assert advance(RUN, Observation(R, started_at=T1), NOW, clock_timed=True) is RUN
    assert advance(STOP, Observation(P), NOW, clock_timed=True) is STOP


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        (None, None),
        (RUN, Lifecycle(S, T0, NOW)),
        (STOP, STOP),
        (Lifecycle(S, T0, T1, Outcome.SUCCEEDED), Lifecycle(S, T0, T1, Outcome.SUCCEEDED)),
    ],
)
def test_deleted(graph: Lifecycle | None, expected: Lifecycle | None) -> None:
    assert deleted(graph, NOW) == expected


def test_tentative_stop() -> None:
    assert is_tentative(Lifecycle(S, None, NOW))
    assert not is_tentative(STOP)
    assert not is_tentative(RUN)


def test_next_phase_keeps_running_through_pending() -> None:
    assert next_phase(R, P) is R
    assert next_phase(S, P) is P
    assert next_phase(None, R) is R
