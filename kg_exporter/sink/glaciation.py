"""Sink for the GLACIATION Metadata Service v0 API, as it really behaves (contracts.md).

That service has no replace and no delete of a subgraph: every ``PATCH /api/v0/graph`` *appends* a
snapshot named graph ``<top-level @id>/timestamp:<server ms>``. So a put here is

1. PATCH the document with the subgraph's graph IRI as top-level ``@id`` (a new snapshot), then
2. find that IRI's snapshots and drop every one but the newest, with ``DROP GRAPH`` updates.

Readers between the two steps see two snapshots for a moment; a crash between them leaves extra
snapshots that the next put of the same id drops. A retried PATCH (timeout after the server
inserted) also just adds a snapshot that step 2 removes. Reads pick the newest snapshot. Queries
wrap patterns in ``GRAPH ?g { ?s ?p ?o }``: data lives only in named graphs, and the pyoxigraph 0.3
behind version 2.0 binds nothing for ``GRAPH ?g {}``.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Mapping
from typing import Any

import pyoxigraph as ox

from kg_exporter.errors import SinkError
from kg_exporter.identity import SUBGRAPH_GRAPH_PREFIX, subgraph_graph_iri
from kg_exporter.sink.base import PutOutcome
from kg_exporter.sink.http import SinkClient, json_body
from kg_exporter.sink.ids import checked_id
from kg_exporter.sink.jsonld import Compactor
from kg_exporter.sink.sparql import bindings, string_literal, term
from kg_exporter.sink.subgraph_api import JSON_LD, encode

SNAPSHOT_INFIX = "/timestamp:"


class GlaciationSink:
    def __init__(self, client: SinkClient, base_url: str, *, compactor: Compactor) -> None:
        self._client = client
        self._graph_url = base_url.rstrip("/") + "/api/v0/graph"
        self._compactor = compactor

    async def put(self, subgraph_id: str, document: Mapping[str, Any]) -> PutOutcome:
        iri = subgraph_graph_iri(checked_id(subgraph_id))
        await self._client.request(
            "PATCH",
            self._graph_url,
            what=f"PATCH {subgraph_id}",
            content=encode(_snapshot_body(iri, document)),
            headers={"Content-Type": JSON_LD},
        )
        snapshots = await self._snapshots(subgraph_id, iri)
        if not snapshots:
            raise SinkError(f"PATCH {subgraph_id}: acknowledged, but no snapshot of it is visible")
        await self._drop(subgraph_id, sorted(snapshots, key=snapshots.__getitem__)[:-1])
        return PutOutcome.REPLACED if len(snapshots) > 1 else PutOutcome.CREATED

    async def get(self, subgraph_id: str) -> dict[str, Any] | None:
        iri = subgraph_graph_iri(checked_id(subgraph_id))
        what = f"GET {subgraph_id}"
        rows = await self._select(
            "SELECT ?g ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } "
            f"FILTER(STRSTARTS(STR(?g), {string_literal(iri + SNAPSHOT_INFIX)})) }}",
            what,
        )
        by_graph: dict[str, list[ox.Triple]] = {}
        for row in rows:
            graph = term(row.get("g"), what).value
            subject, predicate = term(row.get("s"), what), term(row.get("p"), what)
            if isinstance(subject, ox.Literal) or not isinstance(predicate, ox.NamedNode):
                raise SinkError(f"{what}: the answer binds an impossible triple")
            triple = ox.Triple(subject, predicate, term(row.get("o"), what))
            by_graph.setdefault(graph, []).append(triple)
        stamps = {graph: stamp for graph in by_graph if (stamp := _timestamp(graph)) is not None}
        if not stamps:
            return None
        return self._compactor.document(by_graph[max(stamps, key=stamps.__getitem__)])

    async def delete(self, subgraph_id: str) -> bool:
        iri = subgraph_graph_iri(checked_id(subgraph_id))
        snapshots = await self._snapshots(subgraph_id, iri)
        await self._drop(subgraph_id, list(snapshots))
        return bool(snapshots)

    async def list(self, prefix: str = "") -> builtins.list[str]:
        what = f"LIST {prefix!r}"
        rows = await self._select(
            "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } "
            f"FILTER(STRSTARTS(STR(?g), {string_literal(SUBGRAPH_GRAPH_PREFIX + prefix)})) }}",
            what,
        )
        ids = set()
        for row in rows:
            graph = term(row.get("g"), what).value
            base, infix, stamp = graph.rpartition(SNAPSHOT_INFIX)
            if infix and stamp.isdigit():
                ids.add(base[len(SUBGRAPH_GRAPH_PREFIX) :])
        return sorted(ids)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _snapshots(self, subgraph_id: str, iri: str) -> dict[str, int]:
        """Snapshot graph IRIs of the subgraph, with their timestamps."""
        what = f"SNAPSHOTS {subgraph_id}"
        rows = await self._select(
            "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } "
            f"FILTER(STRSTARTS(STR(?g), {string_literal(iri + SNAPSHOT_INFIX)})) }}",
            what,
        )
        snapshots = {}
        for row in rows:
            graph = term(row.get("g"), what).value
            stamp = _timestamp(graph)
            if stamp is not None and graph.startswith(iri + SNAPSHOT_INFIX):
                snapshots[graph] = stamp
        return snapshots

    async def _drop(self, subgraph_id: str, graphs: builtins.list[str]) -> None:
        if not graphs:
            return
        # The service splits on the "DROP GRAPH <...>;" pattern and runs each on its own.
        update = " ; ".join(f"DROP GRAPH <{graph}>" for graph in graphs)
        await self._client.request(
            "POST",
            self._graph_url + "/update",
            what=f"DROP old snapshots of {subgraph_id}",
            content=json.dumps({"query": update}).encode("utf-8"),
            headers={"Content-Type": "application/json"},
        )

    async def _select(self, query: str, what: str) -> builtins.list[dict[str, Any]]:
        response = await self._client.request(
            "GET",
            self._graph_url,
            what=what,
            params={"query": query},
            headers={"Accept": "application/json"},
        )
        return bindings(json_body(response, what), what)


def _snapshot_body(iri: str, document: Mapping[str, Any]) -> dict[str, Any]:
    if "@graph" in document:
        nodes = document["@graph"]
    else:
        nodes = [{key: value for key, value in document.items() if key != "@context"}]
    body: dict[str, Any] = {}
    if "@context" in document:
        body["@context"] = document["@context"]
    body["@id"] = iri
    body["@graph"] = nodes
    return body


def _timestamp(graph: str) -> int | None:
    _, infix, stamp = graph.rpartition(SNAPSHOT_INFIX)
    return int(stamp) if infix and stamp.isdigit() else None
