"""A sink over an on-disk store in this process: what ``backfill`` writes to without ``--sink``.

It is the reference Metadata Service's own storage (:class:`~kg_exporter.service.SubgraphStore`)
with the service's own body checks (:func:`~kg_exporter.service.validation.parse_document`), so a
directory written here can later be served as it is with
``python -m kg_exporter.service --store DIR``, and reads back exactly as the service would answer.
"""

from __future__ import annotations

import builtins
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kg_exporter.backfill.outcome import WriteOutcome
from kg_exporter.errors import SinkRejected, SinkUnavailable
from kg_exporter.resources import context as product_context
from kg_exporter.service.store import IN_MEMORY, PutResult, SubgraphStore
from kg_exporter.service.validation import BadRequest, parse_document
from kg_exporter.sink import PutOutcome
from kg_exporter.sink.ids import checked_id
from kg_exporter.sink.jsonld import Compactor
from kg_exporter.sink.subgraph_api import encode

#: Where ``backfill`` writes when given neither ``--sink`` nor ``--store``.
DEFAULT_STORE = Path("kg-store")


class EmbeddedStoreSink:
    """The :class:`~kg_exporter.sink.Sink` interface over a :class:`SubgraphStore`."""

    def __init__(self, store: SubgraphStore, *, location: str = IN_MEMORY) -> None:
        self.store = store
        self.location = location
        self._compactor = Compactor(product_context())

    async def put(self, subgraph_id: str, document: Mapping[str, Any]) -> PutOutcome:
        return PutOutcome((await self.put_outcome(subgraph_id, document)).value)

    async def put_outcome(self, subgraph_id: str, document: Mapping[str, Any]) -> WriteOutcome:
        checked_id(subgraph_id)
        body = encode(document)
        digest = hashlib.blake2b(body, digest_size=16).digest()
        if self.store.unchanged(subgraph_id, digest):
            return WriteOutcome.UNCHANGED
        try:
            triples = parse_document(body)
        except BadRequest as exc:
            raise SinkRejected(exc.status, f"{exc.error}: {exc.detail}") from exc
        # The store judges "unchanged" itself, by value, and then writes nothing.
        return _OUTCOMES[self.store.put(subgraph_id, triples, body_digest=digest)]

    async def get(self, subgraph_id: str) -> dict[str, Any] | None:
        triples = self.store.get(checked_id(subgraph_id))
        return None if triples is None else self._compactor.document(triples)

    async def delete(self, subgraph_id: str) -> bool:
        return self.store.delete(checked_id(subgraph_id))

    async def list(self, prefix: str = "") -> builtins.list[str]:
        return self.store.ids(prefix)

    async def aclose(self) -> None:
        # Memory tables to disk now, so the next open (or a service on the directory) starts fast.
        self.store.flush()


def open_store(location: Path | str = DEFAULT_STORE) -> EmbeddedStoreSink:
    """The store in directory ``location`` (created when missing), or ``":memory:"``.

    Raises :class:`~kg_exporter.errors.SinkUnavailable` when it cannot be opened — most often
    because another process (a Metadata Service serving it) holds it: RocksDB allows one.
    """
    where = str(location)
    try:
        store = SubgraphStore.open(where)
    except OSError as exc:
        reason = str(exc)
        if "lock" in reason.lower():
            reason = (
                "another process has it open (a Metadata Service serving it?); stop that "
                "process, or write through it with --sink URL"
            )
        raise SinkUnavailable(f"cannot open the store {where}: {reason}") from exc
    return EmbeddedStoreSink(store, location=where)


_OUTCOMES = {
    PutResult.CREATED: WriteOutcome.CREATED,
    PutResult.REPLACED: WriteOutcome.REPLACED,
    PutResult.UNCHANGED: WriteOutcome.UNCHANGED,
}
