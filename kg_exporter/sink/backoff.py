"""How long to wait before the next attempt: capped exponential backoff with full jitter, unless
the server said when (``Retry-After``).

Full jitter (a uniform draw in ``[0, min(cap, initial * 2**(n-1))]``) spreads the retries of many
writers that failed together, so a Metadata Service coming back is not hit by all of them at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime

from kg_exporter.settings import SinkSettings


@dataclass(frozen=True)
class Backoff:
    initial_seconds: float
    max_seconds: float
    max_attempts: int

    @classmethod
    def from_settings(cls, settings: SinkSettings) -> Backoff:
        return cls(
            settings.backoff_initial_seconds, settings.backoff_max_seconds, settings.max_attempts
        )

    def delay(self, failed_attempts: int, rng: Callable[[], float]) -> float:
        """The wait after ``failed_attempts`` (>= 1) consecutive failures; ``rng()`` is in [0, 1)."""
        ceiling = min(self.max_seconds, self.initial_seconds * 2.0 ** (failed_attempts - 1))
        return rng() * ceiling

    def honour(self, retry_after: float) -> float:
        """The wait a ``Retry-After`` asks for, capped at ``max_seconds``: the operator's cap wins
        so one misbehaving server cannot park a writer for hours (the work queue retries later)."""
        return min(max(retry_after, 0.0), self.max_seconds)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date), given the
    current Unix time ``now``; None when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000": RFC 9110 dates are GMT anyway
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)
