"""Sink for the GLACIATION Metadata Service v0 API, as it really behaves (contracts.md).

That service has no replace and no delete of a subgraph: every ``PATCH /api/v0/graph`` *appends* a
graph named ``<top-level @id>/timestamp:<server ms>``. A subgraph ``id`` is therefore stored as
such a graph under ``urn:kg-exporter:subgraph:<id>`` — deliberately outside the ``^timestamp:``
names the platform's readers select, so a reader taking the newest graph gets the platform's
snapshot (see :mod:`kg_exporter.glaciation`), never one subgraph in another vocabulary.

Each stored graph carries a marker, ``<urn:kg-exporter:subgraph:<id>> <urn:kg-exporter:digest>
"<sha256 of the document>"``. It makes every operation an index lookup by subject instead of a
scan of every graph in the store (which took seconds once the platform's snapshots were there):

- ``put``: the graphs of the id are known from earlier writes, or looked up once by the marker.
  The same digest means UNCHANGED (nothing sent). Otherwise PATCH (the answer names the new
  graph), then DROP the id's older graphs, which are known without asking. A PATCH that needed a
  retry may have landed twice: then the id's graphs are looked up and all but the named one
  dropped, and the id is looked up again at its next write, which drops an attempt that landed
  late (it holds the same document).
- ``get`` reads the newest graph of the id, without the marker; ``delete`` drops its graphs;
  ``list`` reads the markers (one per stored subgraph) by predicate.

Requests are bounded (``concurrency``, default 2) because the service answers one at a time:
more in flight would only wait inside it until they time out. Graphs written by earlier versions
of this sink, without the marker, are not seen.
"""

from __future__ import annotations

import asyncio
import builtins
import hashlib
import json
from collections.abc import Mapping
from typing import Any

import pyoxigraph as ox

from kg_exporter.errors import SinkError
from kg_exporter.identity import SUBGRAPH_GRAPH_PREFIX, subgraph_graph_iri
from kg_exporter.sink.base import PutOutcome
from kg_exporter.sink.glaciation_api import GlaciationApi, timestamp_of
from kg_exporter.sink.http import SinkClient
from kg_exporter.sink.ids import checked_id
from kg_exporter.sink.jsonld import Compactor
from kg_exporter.sink.sparql import string_literal, term

DIGEST = "urn:kg-exporter:digest"


class GlaciationSink:
    def __init__(
        self, client: SinkClient, base_url: str, *, compactor: Compactor, concurrency: int = 2
    ) -> None:
        self._api = GlaciationApi(client, base_url)
        self._compactor = compactor
        self._limit = asyncio.Semaphore(concurrency)
        #: Graphs of each subgraph id we know of (oldest first) and the digest of the newest.
        self._known: dict[str, tuple[list[str], str | None]] = {}

    async def put(self, subgraph_id: str, document: Mapping[str, Any]) -> PutOutcome:
        iri = subgraph_graph_iri(checked_id(subgraph_id))
        digest = _digest(document)
        async with self._limit:
            graphs, stored_digest = await self._graphs(subgraph_id, iri)
            if graphs and stored_digest == digest and len(graphs) == 1:
                return PutOutcome.UNCHANGED
            retried = False

            def on_retry() -> None:
                nonlocal retried
                retried = True

            written = await self._api.patch(
                _snapshot_body(iri, digest, document),
                what=f"PATCH {subgraph_id}",
                on_retry=on_retry,
            )
            if written is None or retried:
                # The answer did not name the graph, or an abandoned attempt may have landed:
                # the marker tells which graphs there are now; keep the newest.
                self._known.pop(subgraph_id, None)
                now, _ = await self._graphs(subgraph_id, iri)
                if not now:
                    raise SinkError(
                        f"PATCH {subgraph_id}: acknowledged, but no graph of it is visible"
                    )
                written = written if written in now else now[-1]
                old = [g for g in now if g != written]
            else:
                old = graphs
            await self._api.drop(old, what=f"DROP old snapshots of {subgraph_id}")
            if retried:
                # An abandoned attempt may still land (delayed on its way): look again next time.
                self._known.pop(subgraph_id, None)
            else:
                self._known[subgraph_id] = ([written], digest)
        return PutOutcome.REPLACED if graphs else PutOutcome.CREATED

    async def get(self, subgraph_id: str) -> dict[str, Any] | None:
        iri = subgraph_graph_iri(checked_id(subgraph_id))
        what = f"GET {subgraph_id}"
        async with self._limit:
            graphs, _ = await self._graphs(subgraph_id, iri)
            if not graphs:
                return None
            rows = await self._api.select(
                f"SELECT ?s ?p ?o WHERE {{ GRAPH <{graphs[-1]}> {{ ?s ?p ?o }} }}", what=what
            )
        triples = []
        for row in rows:
            subject, predicate = term(row.get("s"), what), term(row.get("p"), what)
            if isinstance(subject, ox.Literal) or not isinstance(predicate, ox.NamedNode):
                raise SinkError(f"{what}: the answer binds an impossible triple")
            if predicate.value == DIGEST and subject.value == iri:
                continue
            triples.append(ox.Triple(subject, predicate, term(row.get("o"), what)))
        return self._compactor.document(triples)

    async def delete(self, subgraph_id: str) -> bool:
        iri = subgraph_graph_iri(checked_id(subgraph_id))
        async with self._limit:
            graphs, _ = await self._graphs(subgraph_id, iri, refresh=True)
            await self._api.drop(graphs, what=f"DROP {subgraph_id}")
            self._known.pop(subgraph_id, None)
        return bool(graphs)

    async def list(self, prefix: str = "") -> builtins.list[str]:
        what = f"LIST {prefix!r}"
        start = string_literal(SUBGRAPH_GRAPH_PREFIX + prefix)
        async with self._limit:
            rows = await self._api.select(
                f"SELECT DISTINCT ?s WHERE {{ GRAPH ?g {{ ?s <{DIGEST}> ?d }} "
                f"FILTER(STRSTARTS(STR(?s), {start})) }}",
                what=what,
            )
        return sorted(term(row.get("s"), what).value[len(SUBGRAPH_GRAPH_PREFIX) :] for row in rows)

    async def aclose(self) -> None:
        await self._api.aclose()

    async def _graphs(
        self, subgraph_id: str, iri: str, *, refresh: bool = False
    ) -> tuple[builtins.list[str], str | None]:
        """The id's graphs, oldest first, and the newest one's digest: remembered, or read from
        the markers (an index lookup by subject)."""
        known = self._known.get(subgraph_id)
        if known is not None and not refresh:
            return known
        what = f"FIND {subgraph_id}"
        rows = await self._api.select(
            f"SELECT ?g ?d WHERE {{ GRAPH ?g {{ <{iri}> <{DIGEST}> ?d }} }}", what=what
        )
        found = {term(r.get("g"), what).value: term(r.get("d"), what).value for r in rows}
        graphs = sorted(found, key=lambda g: timestamp_of(g) or 0)
        known = (graphs, found[graphs[-1]] if graphs else None)
        self._known[subgraph_id] = known
        return known


def _digest(document: Mapping[str, Any]) -> str:
    text = json.dumps(document, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _snapshot_body(iri: str, digest: str, document: Mapping[str, Any]) -> dict[str, Any]:
    if "@graph" in document:
        nodes = list(document["@graph"])
    else:
        nodes = [{key: value for key, value in document.items() if key != "@context"}]
    nodes.append({"@id": iri, DIGEST: digest})
    body: dict[str, Any] = {}
    if "@context" in document:
        body["@context"] = document["@context"]
    body["@id"] = iri
    body["@graph"] = nodes
    return body
