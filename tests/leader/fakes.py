"""An in-memory LeaseApi with the apiserver's optimistic concurrency, and a virtual clock."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from kg_exporter.leader import LeaseApiError, LeaseConflict, LeaseRecord


class MemoryLeases:
    """Leases keyed by (namespace, name); every write bumps a global resourceVersion and a write
    carrying a stale one is refused, as the apiserver does."""

    def __init__(self) -> None:
        self.leases: dict[tuple[str, str], LeaseRecord] = {}
        self.version = 0
        self.fail = False  # every call raises LeaseApiError while set (API server down)
        self.writes: list[LeaseRecord] = []

    def _check(self) -> None:
        if self.fail:
            raise LeaseApiError("API server unreachable (test)")

    async def get(self, namespace: str, name: str) -> LeaseRecord | None:
        self._check()
        found = self.leases.get((namespace, name))
        await asyncio.sleep(0)  # a round trip: racing candidates all read before any writes
        return found

    async def create(self, namespace: str, name: str, record: LeaseRecord) -> LeaseRecord:
        self._check()
        if (namespace, name) in self.leases:
            raise LeaseConflict("exists")
        return self._store(namespace, name, record)

    async def replace(self, namespace: str, name: str, record: LeaseRecord) -> LeaseRecord:
        self._check()
        current = self.leases.get((namespace, name))
        if current is None or current.resource_version != record.resource_version:
            raise LeaseConflict("stale")
        return self._store(namespace, name, record)

    def _store(self, namespace: str, name: str, record: LeaseRecord) -> LeaseRecord:
        self.version += 1
        stored = replace(record, resource_version=str(self.version))
        self.leases[(namespace, name)] = stored
        self.writes.append(stored)
        return stored


class VirtualClock:
    """Time moves only when someone sleeps (or the test calls advance): loops run instantly."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.start = datetime(2025, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.t)

    def monotonic(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds

    async def sleep(self, seconds: float) -> None:
        self.t += seconds
        await asyncio.sleep(0)  # let the other tasks run at this virtual instant


class Gauge:
    def __init__(self) -> None:
        self.values: list[float] = []

    def set(self, value: float) -> None:
        self.values.append(value)
