"""What /healthz and /readyz say, and the probe that keeps /readyz honest about the sink.

- **healthz** (liveness): 200 while every watch loop and worker is running; 503 once one of them
  died of an unexpected error (the daemon then also shuts down with exit code 1).
- **readyz** (readiness): 200 when (1) the initial listing of every watched kind has been
  processed, so the daemon's picture of the cluster is complete, and (2) the sink answered the
  last request the daemon made of it. Every write and read counts; when none happened for
  ``probe_interval`` seconds, a probe (one list request) asks. So /readyz turns 503 at most about
  one probe interval (plus the sink client's own retries) after the sink goes down, and 200 again
  on the first request that succeeds after it is back — at which point the keys backing off are
  retried at once instead of waiting out their backoff.
- A **standby** replica (leader election on, another replica leads) is alive and ready — ready to
  take over — so a rollout of several replicas is not held up by the standbys.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from kg_exporter.errors import SinkError, SinkRejected

log = logging.getLogger("kg_exporter.runtime")

#: Refusals that make the sink unusable for every request (credentials), not just this one.
UNUSABLE = frozenset({401, 403})


class Health:
    def __init__(self, monotonic: Callable[[], float]) -> None:
        self._monotonic = monotonic
        self.synced = False
        self.sink_ok: bool | None = None
        self.sink_error = ""
        self.last_sink_contact = monotonic()
        self.dead: list[str] = []
        #: A replica waiting for the lease (leader election): it watches and writes nothing, and
        #: is ready — to take over — so rollouts of several replicas can proceed.
        self.standby = False
        self._on_change: list[Callable[[bool], None]] = []

    def on_sink_change(self, callback: Callable[[bool], None]) -> None:
        """``callback(ok)`` when the sink goes from failing to answering or back."""
        self._on_change.append(callback)

    def sink_succeeded(self) -> None:
        self.last_sink_contact = self._monotonic()
        if self.sink_ok is not True:
            was_failing = self.sink_ok is False
            self.sink_ok = True
            self.sink_error = ""
            if was_failing:
                log.info("the sink answers again")
                for callback in self._on_change:
                    callback(True)

    def sink_failed(self, error: str) -> None:
        self.last_sink_contact = self._monotonic()
        self.sink_error = error
        if self.sink_ok is not False:
            self.sink_ok = False
            log.warning(
                "the sink is failing: %s; /readyz reports not ready until it answers", error
            )
            for callback in self._on_change:
                callback(False)

    def sink_raised(self, exc: SinkError) -> None:
        """A sink request failed: the sink is failing unless it answered with a refusal of this
        request alone (a 4xx other than 401/403: the sink works, the document or id did not)."""
        if isinstance(exc, SinkRejected) and exc.status not in UNUSABLE:
            self.sink_succeeded()
        else:
            self.sink_failed(str(exc))

    def reasons(self) -> list[str]:
        """Why the daemon is not ready; empty when it is."""
        if self.standby:
            return []
        reasons = []
        if not self.synced:
            reasons.append("initial listing not finished")
        if self.sink_ok is False:
            reasons.append(f"sink failing: {self.sink_error}")
        elif self.sink_ok is None:
            reasons.append("sink not reached yet")
        reasons.extend(f"stopped: {what}" for what in self.dead)
        return reasons

    @property
    def ready(self) -> bool:
        return not self.reasons()

    def idle_seconds(self) -> float:
        """Seconds since the sink was last asked anything."""
        return self._monotonic() - self.last_sink_contact

    @property
    def alive(self) -> bool:
        return not self.dead


async def probe_sink(
    health: Health,
    probe: Callable[[], Awaitable[object]],
    *,
    interval: float,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Ask the sink whenever nothing else did for ``interval`` seconds (or it is failing)."""
    while True:
        idle = health.idle_seconds()
        if health.sink_ok is not True or idle >= interval:
            try:
                await probe()
            except SinkError as exc:
                health.sink_raised(exc)
            else:
                health.sink_succeeded()
            await sleep(interval if health.sink_ok is not False else min(interval, 2.0))
        else:
            await sleep(max(interval - idle, 0.05))
