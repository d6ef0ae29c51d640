"""How late the machine runs a process that wakes up: for timing bounds that hold on a calm
machine and stretch on a busy one by what it measurably delays, no more.

A timing test (fail-over within the lease duration plus a poll, hand-over within 2 s) checks
processes that sleep and wake: pollers, a signal handler, a renewal loop. On a machine whose cores
are all busy, each wake-up waits for a core, so a correct process misses a bound that is only
right for a calm machine; a generous fixed bound would let a real bug through on a calm one.
:class:`Lateness` measures the wake-up delay while the test runs (a thread sleeping ``tick`` at a
time, noting how much longer each sleep took), and a bound adds a few of the worst delays seen.

Processes that talk to a server the test runs (FakeKube, in the test process) also wait for its
answers, which a busy machine slows in the same way: with ``probe`` (a call to that server),
:attr:`Lateness.round_trip` is the longest such call seen meanwhile, for a bound to add one per
request the checked process makes on its way.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType


class Lateness:
    """``with Lateness() as late: ...``; then ``late.worst`` is the largest oversleep (s)."""

    def __init__(self, tick: float = 0.02, probe: Callable[[], object] | None = None) -> None:
        self.tick = tick
        self.worst = 0.0
        #: The longest ``probe()`` seen (s); 0 without a probe.
        self.round_trip = 0.0
        self._probe = probe
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._measure, name="lateness", daemon=True)]
        if probe is not None:
            self._threads.append(threading.Thread(target=self._trips, name="trips", daemon=True))

    def _measure(self) -> None:
        while not self._stop.is_set():
            began = time.monotonic()
            time.sleep(self.tick)
            self.worst = max(self.worst, time.monotonic() - began - self.tick)

    def _trips(self) -> None:
        assert self._probe is not None
        while not self._stop.wait(5 * self.tick):
            began = time.monotonic()
            self._probe()
            self.round_trip = max(self.round_trip, time.monotonic() - began)

    def __enter__(self) -> Lateness:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()
