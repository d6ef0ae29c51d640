"""Capped exponential backoff with full jitter, and its per-key bookkeeping.

The wait after ``n`` consecutive failures is uniform in ``[0, min(cap, initial * 2**(n-1))]``: many
keys (or watches) that failed together do not all come back at the same instant.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Backoff:
    initial_seconds: float
    max_seconds: float
    rng: Callable[[], float] = random.random

    def ceiling(self, failures: int, cap: float | None = None) -> float:
        """The longest wait after ``failures`` (>= 1) consecutive failures; ``cap`` replaces
        :attr:`max_seconds` when given."""
        exponent = min(max(failures, 1) - 1, 64)  # 2**64 * anything is past any cap
        limit = self.max_seconds if cap is None else cap
        return float(min(limit, self.initial_seconds * 2.0**exponent))

    def delay(self, failures: int, cap: float | None = None) -> float:
        return self.rng() * self.ceiling(failures, cap)


class KeyBackoff(Generic[K]):
    """Consecutive failures per key; :meth:`forget` after a success resets the key.

    One count per key, whatever the failures were; each retry policy passes its own ``cap`` to
    :meth:`next_delay` (a key the sink rejects waits longer between attempts than one it could
    not reach), so the count a log line shows goes 1, 2, 3, ... across them.
    """

    def __init__(self, backoff: Backoff) -> None:
        self._backoff = backoff
        self._failures: dict[K, int] = {}

    def failures(self, key: K) -> int:
        return self._failures.get(key, 0)

    def next_delay(self, key: K, cap: float | None = None) -> float:
        """Count one more failure of ``key`` and return how long to wait before retrying it
        (at most ``cap`` seconds when given, else the backoff's own ``max_seconds``)."""
        failures = self._failures.get(key, 0) + 1
        self._failures[key] = failures
        return self._backoff.delay(failures, cap)

    def forget(self, key: K) -> None:
        self._failures.pop(key, None)

    def __len__(self) -> int:
        return len(self._failures)
