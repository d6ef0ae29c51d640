"""How late the machine runs a process that wakes up: for timing bounds that hold on a calm
machine and stretch on a busy one by what it measurably delays, no more.

A timing test (fail-over within the lease duration plus a poll, hand-over within 2 s) checks
processes that sleep and wake: pollers, a signal handler, a renewal loop. On a machine whose cores
are all busy, each wake-up waits for a core, so a correct process misses a bound that is only
right for a calm machine; a generous fixed bound would let a real bug through on a calm one.
:class:`Lateness` measures the wake-up delay while the test runs (a thread sleeping ``tick`` at a
time, noting how much longer each sleep took), and a bound adds a few of the worst delays seen.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType


class Lateness:
    """``with Lateness() as late: ...``; then ``late.worst`` is the largest oversleep (s)."""

    def __init__(self, tick: float = 0.02) -> None:
        self.tick = tick
        self.worst = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._measure, name="lateness", daemon=True)

    def _measure(self) -> None:
        while not self._stop.is_set():
            began = time.monotonic()
            time.sleep(self.tick)
            self.worst = max(self.worst, time.monotonic() - began - self.tick)

    def __enter__(self) -> Lateness:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
