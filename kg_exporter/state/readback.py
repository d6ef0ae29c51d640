"""What to do with a workload whose stored subgraph was read back: pure, so every case is a table row.

A workload the daemon found without knowing what the graph holds for it (found at start-up, or
handed over by an orphan whose object exists again) is read back before anything is written. The
stored document is compared with the live object on three things:

1. **the instance** (``kgx:uid``): a stored uid that differs from the live object's is an instance
   that no longer exists (deleted and re-created under the same name while the daemon was not
   looking). If the graph still says it runs, its stop is written first, ended when the daemon
   found out; then the live object follows the ordinary rules, as if the graph held nothing of it
   (written once it has started, with its own uid, start and outcome);
2. **the phase**: a different phase is written (a tentative stop — found scaled to 0 — only over a
   graph that says running);
3. **the outcome and times**, for kinds whose objects state them (Jobs): a stored outcome, start
   or end that differs from the object's is rewritten. Deployments and StatefulSets do not state
   when they started, so there the stored times, recorded as they happened, are kept — unless
   the object's children state it (a JobSet's Jobs).

A document that states no uid (written by an older version) cannot be told apart, so it is taken
as the same instance.
"""

from __future__ import annotations

from dataclasses import dataclass

from kg_exporter.render.facts import Lifecycle
from kg_exporter.state.lifecycle import Phase
from kg_exporter.state.transitions import deleted, is_tentative, same_instant


@dataclass(frozen=True, slots=True)
class Stored:
    """What a stored workload subgraph says: its instance and its status."""

    uid: str | None
    lifecycle: Lifecycle


@dataclass(frozen=True, slots=True)
class ReadBack:
    """The decision for one key."""

    #: The stored instance ended: its document is amended to this stop and written first.
    end_stored: Lifecycle | None
    #: What the graph holds of the live instance; None when it holds nothing of it (nothing
    #: stored, or another instance: then the live one is written once it has started, even
    #: with the very same lifecycle).
    holds: Lifecycle | None
    #: What the graph should say about the live instance (written when it differs from ``holds``).
    graph: Lifecycle | None

    @property
    def writes(self) -> bool:
        return self.graph is not None and self.graph != self.holds


def read_back(
    stored: Stored | None,
    *,
    uid: str | None,
    desired: Lifecycle | None,
    clock_timed: bool,
    exists: bool,
    now: str,
) -> ReadBack:
    """Compare the stored subgraph with the live object (``uid``, the lifecycle it implies,
    ``desired``, and whether it still ``exists``); ``now`` is when the daemon found out.
    ``clock_timed``: the kind's times are the daemon's (its entry's ``lifecycle.times``)."""
    if stored is None:
        graph = None if desired is None or is_tentative(desired) else desired
        return ReadBack(None, None, graph)
    held = stored.lifecycle
    if stored.uid is not None and uid is not None and stored.uid != uid:
        end = deleted(held, now) if held.phase is Phase.RUNNING else None
        graph = None if desired is None or is_tentative(desired) else desired
        return ReadBack(end, None, graph)
    graph = _same_instance(held, desired, clock_timed)
    if not exists:
        graph = deleted(graph, now)
    return ReadBack(None, held, graph)


def _same_instance(held: Lifecycle, desired: Lifecycle | None, clock_timed: bool) -> Lifecycle:
    """What the graph should say when it already describes the live instance."""
    if desired is None:
        return held  # not started as far as the object says (between replicas): the graph knows
    if is_tentative(desired):
        if held.phase is Phase.RUNNING:
            return Lifecycle(Phase.STOPPED, held.started_at, desired.ended_at)
        return held
    # A kind timed by the clock keeps the times the graph recorded as they happened, unless the
    # object now states its start (a JobSet's Jobs do): that is no guess.
    guessed = clock_timed and not desired.start_known
    if desired.phase is held.phase:
        return held if guessed or same_lifecycle(held, desired) else desired
    if guessed and desired.phase is Phase.STOPPED:
        # Seen stopping at start-up: the start the graph recorded is better than a guess.
        return Lifecycle(Phase.STOPPED, held.started_at, desired.ended_at, desired.outcome)
    return desired


def same_lifecycle(a: Lifecycle, b: Lifecycle) -> bool:
    """Same phase, outcome and times (as instants: the store may write ``.970Z`` as ``.97Z``)."""
    return (
        a.phase is b.phase
        and a.outcome == b.outcome
        and same_instant(a.started_at, b.started_at)
        and same_instant(a.ended_at, b.ended_at)
    )
