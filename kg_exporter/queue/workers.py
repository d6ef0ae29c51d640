"""N workers taking keys off a :class:`WorkQueue`, with the per-key retry policy.

What a failed key does next is decided here and only here:

- :class:`SinkUnavailable` (the sink's own retries are used up): the key is tried again after a
  per-key backoff — ``will retry <key> in 2.0 s (failure 3): ...`` — while the other keys carry on;
- :class:`SinkRejected` with 401/403: our credentials were refused, which is what a token rotation
  looks like while the service and the daemon pick up the new secret at different moments; the key
  is retried with the per-key backoff (the token file is re-read on every attempt), never dropped;
- any other :class:`SinkRejected` (400, 409, 413, 422, ...): the service refused this document.
  The key is retried too, with the same growing per-key backoff but capped at
  ``rejected_cap`` (``daemon.rejected_retry_max_seconds``, minutes rather than seconds), so a fix
  on the service's side, or an upgrade of ours, lands without waiting for the object to change,
  and nothing is lost. Each attempt is one ERROR line —
  ``rejected <key> (HTTP 400: <message>); will retry in 40.0 s (failure 7)`` — and one count of
  ``kg_exporter_queue_retries_total{reason="rejected"}``; the other keys are never held up;
- :class:`RenderError`: the same object renders the same way, so retrying cannot help; the key is
  logged and dropped until its object changes again;
- anything else is a bug: logged with its traceback and retried like an unavailable sink, so one
  bad key never stops the daemon.

Once :meth:`Workers.drain` was called (SIGTERM), a rejected key is not re-queued: it would only
hold the shutdown up until the drain deadline. The next start finds it unwritten and tries again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from kg_exporter.errors import RenderError, SinkRejected, SinkUnavailable
from kg_exporter.queue.backoff import KeyBackoff
from kg_exporter.queue.workqueue import WorkQueue

log = logging.getLogger("kg_exporter.queue")

K = TypeVar("K", bound=Hashable)

#: Refusals of our credentials: worth retrying, since a rotated token is re-read on each attempt.
AUTH_REFUSED = frozenset({401, 403})


class Workers(Generic[K]):
    def __init__(
        self,
        queue: WorkQueue[K],
        process: Callable[[K], Awaitable[None]],
        backoff: KeyBackoff[K],
        *,
        count: int,
        on_retry: Callable[[K, str], None] | None = None,
        rejected_cap: float | None = None,
    ) -> None:
        """``on_retry(key, reason)`` is called for every re-queued key (reasons: unavailable,
        unauthorized, rejected, error); ``rejected_cap`` caps the delay between attempts of a
        rejected key (default: the backoff's own cap)."""
        self._queue = queue
        self._process = process
        self._backoff = backoff
        self._count = count
        self._on_retry = on_retry
        self._rejected_cap = rejected_cap
        self._draining = False
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._run(), name=f"worker-{i}") for i in range(self._count)
        ]

    def drain(self) -> None:
        """Shutting down: from now on a rejected key is logged and left for the next start."""
        self._draining = True

    async def stop(self) -> None:
        """Cancel the workers (after :meth:`WorkQueue.shutdown` they end by themselves)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def wait(self) -> None:
        """Until every worker has returned (the queue was shut down and emptied)."""
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _run(self) -> None:
        while (key := await self._queue.get()) is not None:
            try:
                await self._process(key)
            except SinkUnavailable as exc:
                self._retry(key, "unavailable", f"the sink is unavailable: {exc}")
            except SinkRejected as exc:
                if exc.status in AUTH_REFUSED:
                    self._retry(key, "unauthorized", f"the sink refused our credentials: {exc}")
                else:
                    self._rejected(key, exc)
            except RenderError as exc:
                self._drop(key, exc)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("unexpected error writing %s", key)
                self._retry(key, "error", f"{type(exc).__name__}: {exc}")
            else:
                self._backoff.forget(key)
            finally:
                self._queue.done(key)

    def _drop(self, key: K, exc: Exception) -> None:
        self._backoff.forget(key)
        log.error("not writing %s: %s; dropped until it changes again", key, exc)

    def _rejected(self, key: K, exc: SinkRejected) -> None:
        if self._draining:
            failures = self._backoff.failures(key) + 1
            self._backoff.forget(key)
            log.error(
                "rejected %s (%s); not retried: shutting down (failure %d)", key, exc, failures
            )
            return
        delay = self._backoff.next_delay(key, self._rejected_cap)
        failures = self._backoff.failures(key)
        log.error("rejected %s (%s); will retry in %.1f s (failure %d)", key, exc, delay, failures)
        self._requeue(key, "rejected", delay)

    def _retry(self, key: K, reason: str, message: str) -> None:
        delay = self._backoff.next_delay(key)
        failures = self._backoff.failures(key)
        log.warning("will retry %s in %.1f s (failure %d): %s", key, delay, failures, message)
        self._requeue(key, reason, delay)

    def _requeue(self, key: K, reason: str, delay: float) -> None:
        if self._on_retry is not None:
            self._on_retry(key, reason)
        self._queue.add_after(key, delay)
