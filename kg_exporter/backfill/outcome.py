"""What one write did, finer than :class:`~kg_exporter.sink.PutOutcome`: whether it changed
anything. A backfill reports unchanged subgraphs apart, so a second run shows it wrote nothing new.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from kg_exporter.sink import PutOutcome, Sink


class WriteOutcome(StrEnum):
    CREATED = "created"
    REPLACED = "replaced"
    UNCHANGED = "unchanged"


@runtime_checkable
class ReportsUnchanged(Protocol):
    """A sink that says what a write did without a round trip of its own (the embedded store, the
    dry-run directory). The others say it through :class:`~kg_exporter.sink.PutOutcome`: the
    /subgraph sink reports UNCHANGED when the service marks its 204 so (the reference service
    does), the Graph Store and GLACIATION sinks cannot tell and say REPLACED."""

    async def put_outcome(self, subgraph_id: str, document: Mapping[str, Any]) -> WriteOutcome: ...


Write = Callable[[str, Mapping[str, Any]], Awaitable[WriteOutcome]]


def writer_for(sink: Sink) -> Write:
    """A function that PUTs a document into ``sink`` and says what it did, as precisely as the
    sink can (decided once: the protocol check is not free at 20,000 writes)."""
    if isinstance(sink, ReportsUnchanged):
        return sink.put_outcome

    async def put(subgraph_id: str, document: Mapping[str, Any]) -> WriteOutcome:
        outcome: PutOutcome = await sink.put(subgraph_id, document)
        return WriteOutcome(outcome.value)

    return put


async def write(sink: Sink, subgraph_id: str, document: Mapping[str, Any]) -> WriteOutcome:
    """PUT ``document``; what it did, as precisely as the sink can say."""
    return await writer_for(sink)(subgraph_id, document)
