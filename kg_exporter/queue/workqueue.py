"""A queue of keys, not events (client-go's workqueue semantics).

- Adding a key that is already waiting is a no-op: a burst of events for one object is one write.
- A key is never handed to two workers at once: a key added while it is being processed is
  queued again when its worker calls :meth:`WorkQueue.done`, so the latest state gets written.
- :meth:`WorkQueue.add_after` puts a key back later (per-key backoff after a failed write); a key
  added meanwhile goes in at once.

Memory is bounded by the number of distinct keys, whatever the event rate.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class WorkQueue(Generic[K]):
    def __init__(self) -> None:
        self._queue: deque[K] = deque()
        self._dirty: set[K] = set()
        self._processing: set[K] = set()
        self._waiting: dict[K, asyncio.TimerHandle] = {}
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._shut = False

    def __len__(self) -> int:
        """Keys ready to be processed now."""
        return len(self._queue)

    @property
    def waiting(self) -> int:
        """Keys backing off before their next attempt."""
        return len(self._waiting)

    @property
    def processing(self) -> int:
        return len(self._processing)

    def add(self, key: K) -> None:
        """Queue ``key`` unless it is already queued; deferred while a worker holds it."""
        handle = self._waiting.pop(key, None)
        if handle is not None:
            handle.cancel()
        if key in self._dirty:
            return
        self._dirty.add(key)
        self._idle.clear()
        if key not in self._processing:
            self._queue.append(key)
            self._wakeup.set()

    def add_after(self, key: K, delay: float) -> None:
        """Queue ``key`` after ``delay`` seconds (at once if <= 0). An earlier pending retry of
        the same key wins."""
        if delay <= 0:
            self.add(key)
            return
        if key in self._dirty or key in self._waiting:
            return
        self._idle.clear()
        loop = asyncio.get_running_loop()
        self._waiting[key] = loop.call_later(delay, self._fire, key)

    def _fire(self, key: K) -> None:
        self._waiting.pop(key, None)
        self.add(key)

    def retry_now(self) -> int:
        """Queue every backing-off key at once (the sink is back); how many there were."""
        keys = list(self._waiting)
        for key in keys:
            self.add(key)
        return len(keys)

    async def get(self) -> K | None:
        """The next key to process, waiting for one; None once shut down and empty."""
        while not self._queue:
            if self._shut:
                return None
            self._wakeup.clear()
            await self._wakeup.wait()
        key = self._queue.popleft()
        self._dirty.discard(key)
        self._processing.add(key)
        if self._queue:
            self._wakeup.set()  # another getter may take the next one
        return key

    def done(self, key: K) -> None:
        """The worker is finished with ``key``; re-queue it if it was added meanwhile."""
        self._processing.discard(key)
        if key in self._dirty:
            self._queue.append(key)
            self._wakeup.set()
        self._check_idle()

    def _check_idle(self) -> None:
        if not self._queue and not self._processing and not self._waiting:
            self._idle.set()

    async def join(self) -> None:
        """Wait until nothing is queued, processing or backing off."""
        self._check_idle()
        await self._idle.wait()

    def shutdown(self) -> list[K]:
        """Stop handing out keys once the queue is empty; drop pending retries and return the
        keys that were still queued or backing off (they were not written)."""
        self._shut = True
        for handle in self._waiting.values():
            handle.cancel()
        left = list(self._queue) + [k for k in self._waiting if k not in self._dirty]
        self._waiting.clear()
        self._queue.clear()
        self._dirty.clear()
        self._wakeup.set()
        self._check_idle()
        return left
