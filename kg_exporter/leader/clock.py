"""Time, injected: the elector reads both clocks and sleeps only through this."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Wall-clock time (UTC): written into the lease for people and other tools to read."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never jumps: every expiry decision is made on this one, so a
        wall clock skewed between nodes cannot make a lease look expired early."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
