"""The one interface every sink implements.

A sink stores whole subgraphs by id: ``put`` makes the stored subgraph exactly the document
(idempotent, so a retried or repeated write is harmless), ``get`` gives it back as JSON-LD (graph-
isomorphic to what was put, not byte-equal), ``delete`` removes it, ``list`` names what is there.
Failures raise :class:`~kg_exporter.errors.SinkError` subclasses, never raw HTTP errors.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from enum import Enum
from typing import Any, Protocol, runtime_checkable


class PutOutcome(Enum):
    """What a PUT did: made a new subgraph, replaced the one stored under that id, or found it
    already exactly so (only sinks that can tell say UNCHANGED; the others say REPLACED)."""

    CREATED = "created"
    REPLACED = "replaced"
    UNCHANGED = "unchanged"


@runtime_checkable
class Sink(Protocol):
    """Where subgraphs are stored: the /subgraph API, a SPARQL Graph Store, the GLACIATION service.

    ``put`` replaces the whole subgraph (idempotent); implementations retry what is worth retrying
    and raise ``SinkUnavailable`` or ``SinkRejected`` (see ``kg_exporter.errors``)."""

    async def put(self, subgraph_id: str, document: Mapping[str, Any]) -> PutOutcome:
        """Store ``document`` (``{"@context": ..., "@graph": [...]}``) as the subgraph."""
        ...

    async def get(self, subgraph_id: str) -> dict[str, Any] | None:
        """The stored subgraph as a JSON-LD document, or None when there is none."""
        ...

    async def delete(self, subgraph_id: str) -> bool:
        """Remove the subgraph; False when there was none."""
        ...

    async def list(self, prefix: str = "") -> builtins.list[str]:
        """Ids of the stored subgraphs that start with ``prefix``, sorted."""
        ...

    async def aclose(self) -> None:
        """Release connections (the HTTP client too, when the sink made it)."""
        ...
