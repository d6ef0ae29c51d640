"""What /readyz and /healthz say, as a table of states."""

from __future__ import annotations

import pytest

from kg_exporter.errors import SinkError, SinkRejected, SinkUnavailable
from kg_exporter.runtime.health import Health


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("synced", "sink", "standby", "dead", "reasons"),
    [
        (True, True, False, [], []),
        (False, True, False, [], ["initial listing not finished"]),
        (True, None, False, [], ["sink not reached yet"]),
        (True, False, False, [], ["sink failing: boom"]),
        (False, False, False, [], ["initial listing not finished", "sink failing: boom"]),
        (True, True, False, ["watch deployments: KeyError()"], ["stopped: watch deployments: KeyError()"]),
        # A standby (leader election) is ready to take over, whatever it has not done.
        (False, None, True, [], []),
    ],
)  # fmt: skip
def test_readiness(
    synced: bool, sink: bool | None, standby: bool, dead: list[str], reasons: list[str]
) -> None:
    health = Health(Ticks())
    health.synced, health.standby, health.dead = synced, standby, dead
    if sink is True:
        health.sink_succeeded()
    elif sink is False:
        health.sink_failed("boom")
    assert health.reasons() == reasons
    assert health.ready is (not reasons)
    assert health.alive is (not dead)


def test_sink_changes_are_reported_once_per_change() -> None:
    ticks = Ticks()
    health = Health(ticks)
    seen: list[bool] = []
    health.on_sink_change(seen.append)
    health.sink_succeeded()  # first contact: not a recovery
    health.sink_failed("a")
    health.sink_failed("b")
    ticks.now = 5.0
    assert health.idle_seconds() == 5.0
    health.sink_succeeded()
    health.sink_succeeded()
    assert seen == [False, True]
    assert health.idle_seconds() == 0.0


@pytest.mark.parametrize(
    ("error", "ready"),
    [
        (SinkUnavailable("PUT x failed after 6 attempts: 503"), False),
        (SinkRejected(401, "bad token"), False),
        (SinkRejected(403, "forbidden"), False),
        (SinkRejected(400, "zero triples"), True),  # this document, not the sink
        (SinkRejected(413, "too large"), True),
    ],
)
def test_which_sink_errors_make_it_not_ready(error: SinkError, ready: bool) -> None:
    health = Health(Ticks())
    health.synced = True
    health.sink_raised(error)
    assert health.ready is ready
