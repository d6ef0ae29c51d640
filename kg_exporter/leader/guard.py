"""Running the daemon's work only while leading: the one function the runtime calls.

The HTTP server (/healthz, /readyz, /metrics) runs outside this, on every replica: a standby is
alive and ready (to take over), and exports ``kg_exporter_leader 0``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from kg_exporter.leader.elector import LeaderElector, LeadershipLost

log = logging.getLogger(__name__)

# Exit code after losing leadership: the work was cancelled mid-way, so the process ends and
# Kubernetes restarts it as a fresh standby (client-go's advice too) rather than reusing state
# built while it was allowed to write.
EXIT_LEADERSHIP_LOST = 1


async def run_while_leading(
    elector: LeaderElector | None,
    stop: asyncio.Event,
    work: Callable[[], Awaitable[int]],
) -> int:
    """Stand by until this replica leads, then ``await work()`` and release the lease after it.

    ``work`` must itself return once ``stop`` is set (after draining: it still holds the lease
    while it drains, so its last writes are safe). ``stop`` while standing by returns 0 at once.
    Losing leadership cancels ``work`` and returns :data:`EXIT_LEADERSHIP_LOST`. Without an
    elector (leader election off) this is just ``await work()``.
    """
    if elector is None:
        return await work()

    async def lead() -> int:
        async with elector.leadership():
            return await work()

    leading = asyncio.create_task(lead(), name="kg-exporter-leadership")
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({leading, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not leading.done() and not elector.is_leader:
            log.info("stopping while standing by: nothing to drain")
            leading.cancel()
        try:
            return await leading
        except asyncio.CancelledError:
            if stop.is_set() and not _cancelling():
                return 0
            raise
        except LeadershipLost as exc:
            log.error("%s; exiting so this replica restarts as a standby", exc)
            return EXIT_LEADERSHIP_LOST
    finally:
        stopping.cancel()
        if not leading.done():  # we were cancelled ourselves: leave no leadership behind
            leading.cancel()
            await asyncio.gather(leading, return_exceptions=True)


def _cancelling() -> bool:
    """Whether the calling task itself is being cancelled (not just the task it awaited)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
