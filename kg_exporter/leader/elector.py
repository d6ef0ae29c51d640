"""Leader election on a ``coordination.k8s.io/v1`` Lease, the way client-go's leaderelection does it.

Every candidate polls the lease. It takes the lease when nobody holds it, when the holder released
it, or when the record has not changed for ``lease_duration`` seconds *as timed on the candidate's
own monotonic clock* since it last saw it change (so clocks need not agree on wall time). Writes are
conditional on the ``resourceVersion`` read, so of two candidates racing, the server lets one win.
The leader renews every retry period; if it cannot for ``renew_deadline`` (< ``lease_duration``), or
sees someone else holding the lease, it stops leading before a standby could take over.

Use::

    async with elector.leadership():   # waits until this replica leads
        await do_the_work()            # cancelled (LeadershipLost raised) if leadership is lost
    # on leaving the block, the lease is released so a standby takes over within a retry period
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import replace

from kg_exporter.errors import KgExporterError
from kg_exporter.leader.clock import Clock, SystemClock
from kg_exporter.leader.config import ElectionConfig
from kg_exporter.leader.metrics import LeaderGauge
from kg_exporter.leader.record import LeaseApi, LeaseApiError, LeaseConflict, LeaseRecord

log = logging.getLogger(__name__)

# Standbys wait a retry period plus up to this fraction more, so replicas started together do not
# poll in lockstep (client-go's JitterFactor is 1.2 for the same reason).
_JITTER = 0.2


class LeadershipLost(KgExporterError):
    """The lease could not be renewed in time, or another replica holds it: stop working."""


class Attempt(enum.Enum):
    HELD = "held"  # we hold the lease now (acquired or renewed)
    HELD_BY_OTHER = "held by another replica"  # a valid lease of someone else
    FAILED = "failed"  # lost a write race or the API failed: try again later


class LeaderElector:
    def __init__(
        self,
        config: ElectionConfig,
        api: LeaseApi,
        *,
        clock: Clock | None = None,
        gauge: LeaderGauge | None = None,
        on_started_leading: Callable[[], None] | None = None,
        on_stopped_leading: Callable[[], None] | None = None,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.config = config
        self._api = api
        self._clock = clock or SystemClock()
        self._gauge = gauge
        self._on_started = on_started_leading
        self._on_stopped = on_stopped_leading
        self._rng = rng
        self._leader = False
        # The last record seen and when (monotonic) it was first seen in that version: the lease
        # of another holder counts as expired lease_duration seconds after that moment.
        self._observed: LeaseRecord | None = None
        self._observed_at = 0.0
        # When the request behind our last successful acquire/renew was sent (monotonic).
        self._renewed_at = 0.0

    @property
    def is_leader(self) -> bool:
        return self._leader

    @property
    def identity(self) -> str:
        return self.config.identity

    @property
    def observed_holder(self) -> str | None:
        """The holder in the last record seen (empty string: released; None: nothing seen yet)."""
        return None if self._observed is None else self._observed.holder_identity

    # -- one attempt ---------------------------------------------------------------------

    async def try_acquire_or_renew(self) -> Attempt:
        """Read the lease once and take or renew it if we may. Never raises for API trouble."""
        cfg, clock = self.config, self._clock
        sent_at = clock.monotonic()
        try:
            current = await self._api.get(cfg.namespace, cfg.lease_name)
            if current is None:
                now = clock.now()
                fresh = LeaseRecord(cfg.identity, cfg.lease_duration_seconds, now, now, 0)
                self._observe(await self._api.create(cfg.namespace, cfg.lease_name, fresh))
                self._renewed_at = sent_at
                return Attempt.HELD
            if (
                self._observed is None
                or current.resource_version != self._observed.resource_version
            ):
                # Timed from *after* the read: never earlier than the write we are looking at.
                self._observe(current)
            holder = current.holder_identity
            if holder and holder != cfg.identity and not self._expired(current):
                return Attempt.HELD_BY_OTHER
            now = clock.now()
            ours = holder == cfg.identity
            wanted = replace(
                current,
                holder_identity=cfg.identity,
                lease_duration_seconds=cfg.lease_duration_seconds,
                acquire_time=current.acquire_time if ours else now,
                renew_time=now,
                lease_transitions=current.lease_transitions + (0 if ours else 1),
            )
            self._observe(await self._api.replace(cfg.namespace, cfg.lease_name, wanted))
            self._renewed_at = sent_at
            return Attempt.HELD
        except LeaseConflict:
            log.debug("lease %s: another replica wrote it first", self._where())
            return Attempt.FAILED
        except LeaseApiError as exc:
            log.warning("lease %s: %s; will retry in %.1f s", self._where(), exc, self._period())
            return Attempt.FAILED

    def _observe(self, record: LeaseRecord) -> None:
        previous = self.observed_holder
        self._observed, self._observed_at = record, self._clock.monotonic()
        if record.holder_identity != previous and record.holder_identity != self.config.identity:
            who = record.holder_identity or "nobody (released)"
            log.info("lease %s is held by %s", self._where(), who)

    def _expired(self, record: LeaseRecord) -> bool:
        age = self._clock.monotonic() - self._observed_at
        return age >= record.lease_duration_seconds

    async def _attempt(self, limit: float) -> Attempt:
        try:
            async with asyncio.timeout(limit):
                return await self.try_acquire_or_renew()
        except TimeoutError:
            log.warning("lease %s: no answer within %.1f s", self._where(), limit)
            return Attempt.FAILED

    # -- the loops -----------------------------------------------------------------------

    async def acquire(self) -> None:
        """Return once this replica holds the lease (polling every retry period, jittered)."""
        log.info("lease %s: candidate %s waiting for leadership", self._where(), self.identity)
        while await self._attempt(self.config.renew_deadline_seconds) is not Attempt.HELD:
            await self._clock.sleep(self._period() * (1.0 + _JITTER * self._rng()))
        self._set_leader(True)

    async def renew_until_lost(self) -> None:
        """Renew every retry period while leading; return (no longer leader) once it fails."""
        cfg, clock = self.config, self._clock
        while True:
            await clock.sleep(cfg.retry_period_seconds)
            left = cfg.renew_deadline_seconds - (clock.monotonic() - self._renewed_at)
            result = await self._attempt(max(left, 0.001)) if left > 0 else Attempt.FAILED
            if result is Attempt.HELD:
                continue
            if result is Attempt.HELD_BY_OTHER:
                why = f"{self.observed_holder} holds the lease now"
            elif clock.monotonic() - self._renewed_at >= cfg.renew_deadline_seconds:
                why = f"could not renew it for {cfg.renew_deadline_seconds:g} s"
            else:
                continue
            log.error("lease %s: leadership lost (%s); stopping work", self._where(), why)
            self._set_leader(False)
            return

    async def release(self) -> bool:
        """Give the lease up (holder emptied) so a standby takes it on its next poll instead of
        waiting for it to expire. Best effort, bounded by ``release_timeout_seconds``."""
        record = self._observed
        if not self._leader or record is None or record.holder_identity != self.identity:
            self._set_leader(False)
            return False
        self._set_leader(False)  # no work may run past this point: it is released from here on
        now = self._clock.now()
        # client-go's release record: nobody holds it, with a 1 s duration for older readers.
        released = replace(
            record, holder_identity="", lease_duration_seconds=1, acquire_time=now, renew_time=now
        )
        try:
            async with asyncio.timeout(self.config.release_timeout_seconds):
                self._observe(
                    await self._api.replace(self.config.namespace, self.config.lease_name, released)
                )
        except (LeaseConflict, LeaseApiError, TimeoutError) as exc:
            log.warning(
                "lease %s: could not release (%s); a standby takes over when it expires in %d s",
                self._where(),
                exc or type(exc).__name__,
                self.config.lease_duration_seconds,
            )
            return False
        log.info("lease %s: released", self._where())
        return True

    @contextlib.asynccontextmanager
    async def leadership(self) -> AsyncIterator[None]:
        """Wait for leadership, run the block while leading, release the lease on leaving.

        Losing leadership cancels the block (like ``asyncio.timeout``) and raises
        :class:`LeadershipLost` from the ``async with``; the caller decides whether to stand by
        again or exit. Cancelling the caller (shutdown) releases the lease on the way out.
        """
        await self.acquire()
        task = asyncio.current_task()
        assert task is not None, "leadership() must run inside a task"
        lost = False
        body_done = False

        def on_renewer_done(_: asyncio.Task[None]) -> None:
            nonlocal lost
            if not body_done:
                lost = True
                task.cancel("leadership lost")

        renewer = asyncio.create_task(self.renew_until_lost(), name="kg-exporter-lease-renewer")
        renewer.add_done_callback(on_renewer_done)
        try:
            try:
                yield
            finally:
                body_done = True
        except asyncio.CancelledError:
            if lost and task.uncancel() == 0:
                raise LeadershipLost(f"lease {self._where()}: leadership lost") from None
            raise
        finally:
            renewer.remove_done_callback(on_renewer_done)
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
            if self._leader:
                await self.release()
            self._set_leader(False)

    # -- helpers -------------------------------------------------------------------------

    def _set_leader(self, leading: bool) -> None:
        if leading == self._leader:
            return
        self._leader = leading
        if self._gauge is not None:
            self._gauge.set(1.0 if leading else 0.0)
        if leading:
            log.info("lease %s: %s is now the leader", self._where(), self.identity)
        callback = self._on_started if leading else self._on_stopped
        if callback is not None:
            try:
                callback()
            except Exception:  # a callback's bug must not wedge the election
                log.exception("leader election callback failed")

    def _period(self) -> float:
        return self.config.retry_period_seconds

    def _where(self) -> str:
        return f"{self.config.namespace}/{self.config.lease_name}"
