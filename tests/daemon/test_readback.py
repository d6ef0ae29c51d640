"""The read-back decision at start-up, as a table: stored subgraph against live object → what is written.

Each row: what the graph holds (uid, lifecycle), what the live object says (uid, the lifecycle it
implies, whether it still exists), and the decision: the stop written over the stored instance
first (if any), then what the graph should say about the live instance.
"""

from __future__ import annotations

import pytest

from kg_exporter.kinds import bundled_registry
from kg_exporter.render.facts import Lifecycle
from kg_exporter.state.lifecycle import Outcome, Phase
from kg_exporter.state.readback import ReadBack, Stored, read_back, same_instant

NOW = "2026-11-02T08:00:00Z"
T0, T1, T2, T3 = (f"2026-11-01T1{i}:00:00Z" for i in range(4))

RUNNING = Lifecycle(Phase.RUNNING, T0)
ENDED_NOW = Lifecycle(Phase.STOPPED, T0, NOW)
NEW_RUNNING = Lifecycle(Phase.RUNNING, T2)
TENTATIVE = Lifecycle(Phase.STOPPED, None, NOW)
SUCCEEDED = Lifecycle(Phase.STOPPED, T0, T1, Outcome.SUCCEEDED)
FAILED_RERUN = Lifecycle(Phase.STOPPED, T2, T3, Outcome.FAILED)
#: Starts the object states through its children (a JobSet's Jobs), not the daemon's clock.
KNOWN_START = Lifecycle(Phase.RUNNING, T1, start_known=True)
KNOWN_STOP = Lifecycle(Phase.STOPPED, T1, T3, Outcome.SUCCEEDED, start_known=True)

ROWS: list[tuple[str, Stored | None, str, Lifecycle | None, str, bool, ReadBack]] = [
    # -- nothing stored ----------------------------------------------------------------------
    ("new and running", None, "u1", NEW_RUNNING, "Deployment", True,
     ReadBack(None, None, NEW_RUNNING)),
    ("new, not started", None, "u1", None, "Deployment", True, ReadBack(None, None, None)),
    ("new, found scaled to 0", None, "u1", TENTATIVE, "Deployment", True,
     ReadBack(None, None, None)),
    # -- the same instance -------------------------------------------------------------------
    ("still running: stored start kept", Stored("u1", RUNNING), "u1", NEW_RUNNING, "Deployment",
     True, ReadBack(None, RUNNING, RUNNING)),
    ("between replicas: the graph knows", Stored("u1", RUNNING), "u1", None, "Deployment", True,
     ReadBack(None, RUNNING, RUNNING)),
    ("scaled to 0 while down", Stored("u1", RUNNING), "u1", TENTATIVE, "Deployment", True,
     ReadBack(None, RUNNING, Lifecycle(Phase.STOPPED, T0, NOW))),
    ("stopped and still stopped", Stored("u1", ENDED_NOW), "u1", TENTATIVE, "Deployment", True,
     ReadBack(None, ENDED_NOW, ENDED_NOW)),
    ("a Job with the same outcome and times", Stored("u1", SUCCEEDED), "u1", SUCCEEDED, "Job",
     True, ReadBack(None, SUCCEEDED, SUCCEEDED)),
    ("a Job whose outcome differs", Stored("u1", SUCCEEDED), "u1",
     Lifecycle(Phase.STOPPED, T0, T1, Outcome.FAILED), "Job", True,
     ReadBack(None, SUCCEEDED, Lifecycle(Phase.STOPPED, T0, T1, Outcome.FAILED))),
    ("a Job whose end differs", Stored("u1", SUCCEEDED), "u1",
     Lifecycle(Phase.STOPPED, T0, T2, Outcome.SUCCEEDED), "Job", True,
     ReadBack(None, SUCCEEDED, Lifecycle(Phase.STOPPED, T0, T2, Outcome.SUCCEEDED))),
    ("a running Job whose start differs", Stored("u1", RUNNING), "u1",
     Lifecycle(Phase.RUNNING, T1), "Job", True,
     ReadBack(None, RUNNING, Lifecycle(Phase.RUNNING, T1))),
    ("a JobSet: the recorded start kept over the clock's", Stored("u1", RUNNING), "u1",
     NEW_RUNNING, "JobSet", True, ReadBack(None, RUNNING, RUNNING)),
    ("a JobSet whose Jobs state its start", Stored("u1", RUNNING), "u1", KNOWN_START, "JobSet",
     True, ReadBack(None, RUNNING, KNOWN_START)),
    ("a JobSet stopped while down, its Jobs' start", Stored("u1", RUNNING), "u1", KNOWN_STOP,
     "JobSet", True, ReadBack(None, RUNNING, KNOWN_STOP)),
    ("deleted before the read-back", Stored("u1", RUNNING), "u1", None, "Deployment", False,
     ReadBack(None, RUNNING, ENDED_NOW)),
    ("a document without a uid is taken as this instance", Stored(None, RUNNING), "u1",
     NEW_RUNNING, "Deployment", True, ReadBack(None, RUNNING, RUNNING)),
    # -- another instance (deleted and re-created under the same name) -----------------------
    ("A: re-created, not started", Stored("u0", RUNNING), "u1", None, "Deployment", True,
     ReadBack(ENDED_NOW, None, None)),
    ("A: re-created, scaled to 0", Stored("u0", RUNNING), "u1", TENTATIVE, "StatefulSet", True,
     ReadBack(ENDED_NOW, None, None)),
    ("B: a Job run again that failed", Stored("u0", SUCCEEDED), "u1", FAILED_RERUN, "Job", True,
     ReadBack(None, None, FAILED_RERUN)),
    ("C: re-created and running", Stored("u0", RUNNING), "u1", NEW_RUNNING, "Deployment", True,
     ReadBack(ENDED_NOW, None, NEW_RUNNING)),
    ("re-created over a stopped one, not started", Stored("u0", ENDED_NOW), "u1", None,
     "Deployment", True, ReadBack(None, None, None)),
    ("a Job run again with the very same times: its own document", Stored("u0", SUCCEEDED),
     "u1", SUCCEEDED, "Job", True, ReadBack(None, None, SUCCEEDED)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("stored", "uid", "desired", "kind", "exists", "expected"),
    [row[1:] for row in ROWS],
    ids=[row[0] for row in ROWS],
)
def test_read_back(
    stored: Stored | None,
    uid: str,
    desired: Lifecycle | None,
    kind: str,
    exists: bool,
    expected: ReadBack,
) -> None:
    clock_timed = bundled_registry()[kind].clock_timed
    decision = read_back(
        stored, uid=uid, desired=desired, clock_timed=clock_timed, exists=exists, now=NOW
    )
    assert decision == expected
    # Written exactly when the live instance's lifecycle is not what the graph holds.
    assert decision.writes == (expected.graph is not None and expected.graph != expected.holds)


def test_times_compare_as_instants() -> None:
    # The store writes xsd:dateTime canonically: trailing zeros of the fraction are dropped.
    assert same_instant("2026-11-01T10:00:31.970Z", "2026-11-01T10:00:31.97Z")
    assert same_instant("2026-11-01T10:00:00Z", "2026-11-01T10:00:00.000Z")
    assert not same_instant("2026-11-01T10:00:00Z", "2026-11-01T10:00:01Z")
    assert not same_instant(None, "2026-11-01T10:00:00Z") and same_instant(None, None)
    stored = Stored("u1", Lifecycle(Phase.STOPPED, T0, "2026-11-01T11:00:00.000Z", Outcome.FAILED))
    live = Lifecycle(Phase.STOPPED, T0, T1, Outcome.FAILED)
    decision = read_back(stored, uid="u1", desired=live, clock_timed=False, exists=True, now=NOW)
    assert not decision.writes, "the same end, written differently: nothing to rewrite"
