"""Fakes at the daemon's boundaries: an in-memory sink that can be taken down, and a fixed clock."""

from __future__ import annotations

import asyncio
import builtins
import copy
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from kg_exporter.errors import SinkRejected, SinkUnavailable
from kg_exporter.sink import PutOutcome


class MemorySink:
    """Implements the Sink protocol in memory: ``down`` makes every call raise SinkUnavailable,
    ``reject`` makes puts of matching ids raise SinkRejected; ``delay`` slows every call."""

    def __init__(self) -> None:
        self.store: dict[str, dict[str, Any]] = {}
        self.calls: Counter[str] = Counter()
        self.puts: list[str] = []
        self.down = False
        self.reject: set[str] = set()
        self.delay = 0.0
        self.in_flight: Counter[str] = Counter()
        self.max_in_flight_per_id = 0

    async def _enter(self, verb: str, subgraph_id: str = "") -> None:
        self.calls[verb] += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.down:
            raise SinkUnavailable(f"{verb} {subgraph_id}: connection refused")

    async def put(self, subgraph_id: str, document: Mapping[str, Any]) -> PutOutcome:
        self.in_flight[subgraph_id] += 1
        self.max_in_flight_per_id = max(self.max_in_flight_per_id, self.in_flight[subgraph_id])
        try:
            await self._enter("put", subgraph_id)
            if subgraph_id in self.reject:
                raise SinkRejected(400, "zero triples")
            created = subgraph_id not in self.store
            self.store[subgraph_id] = copy.deepcopy(dict(document))
            self.puts.append(subgraph_id)
            return PutOutcome.CREATED if created else PutOutcome.REPLACED
        finally:
            self.in_flight[subgraph_id] -= 1

    async def get(self, subgraph_id: str) -> dict[str, Any] | None:
        await self._enter("get", subgraph_id)
        found = self.store.get(subgraph_id)
        return copy.deepcopy(found) if found is not None else None

    async def delete(self, subgraph_id: str) -> bool:
        await self._enter("delete", subgraph_id)
        return self.store.pop(subgraph_id, None) is not None

    async def list(self, prefix: str = "") -> builtins.list[str]:
        await self._enter("list")
        return sorted(i for i in self.store if i.startswith(prefix))

    async def aclose(self) -> None:
        pass

    def phase(self, subgraph_id: str) -> str | None:
        document = self.store.get(subgraph_id)
        if document is None:
            return None
        for node in document["@graph"]:
            if "kgx:phase" in node:
                return str(node["kgx:phase"])
        return None

    def status(self, subgraph_id: str) -> dict[str, Any]:
        for node in self.store[subgraph_id]["@graph"]:
            if "kgx:phase" in node:
                return dict(node)
        raise KeyError(subgraph_id)


class FixedClock:
    """Wall time that moves only when told; monotonic time is real (asyncio needs it)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)

    def monotonic(self) -> float:
        import time

        return time.monotonic()
