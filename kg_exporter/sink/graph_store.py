"""Sink for any SPARQL 1.1 Graph Store HTTP Protocol endpoint (Oxigraph server, Apache Jena Fuseki,
GraphDB, Virtuoso): each subgraph is the named graph ``urn:kg-exporter:subgraph:<id>``.

``PUT {store}?graph=<iri>`` replaces the graph (the protocol's own semantics, atomic in those
stores), ``GET`` reads it back as N-Triples, ``DELETE`` drops it. Listing is not part of the
protocol, so it is a SPARQL query on the store's query endpoint: by default the sibling ``query``
of the store URL (Oxigraph ``/store`` → ``/query``, Fuseki ``/ds/data`` → ``/ds/query``).
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import pyoxigraph as ox

from kg_exporter.errors import SinkError
from kg_exporter.identity import SUBGRAPH_GRAPH_PREFIX, subgraph_graph_iri
from kg_exporter.sink.base import PutOutcome
from kg_exporter.sink.http import SinkClient, json_body, normalized_url, with_query
from kg_exporter.sink.ids import checked_id
from kg_exporter.sink.jsonld import Compactor
from kg_exporter.sink.sparql import bindings, string_literal
from kg_exporter.sink.subgraph_api import JSON_LD, encode

N_TRIPLES = "application/n-triples"


def sibling_query_url(store_url: str) -> str:
    """The query endpoint next to a graph store endpoint: its last path segment becomes ``query``."""
    parts = urlsplit(store_url)
    path = parts.path.rstrip("/")
    head = path.rpartition("/")[0] if path else ""
    return urlunsplit(parts._replace(path=f"{head}/query", query="", fragment=""))


class GraphStoreSink:
    def __init__(
        self,
        client: SinkClient,
        store_url: str,
        *,
        query_url: str | None = None,
        compactor: Compactor,
    ) -> None:
        self._client = client
        self._store = normalized_url(store_url)
        self._graph_query = with_query(self._store, {"graph": subgraph_graph_iri("")})
        self._query = normalized_url(query_url or sibling_query_url(store_url))
        self._compactor = compactor

    async def put(self, subgraph_id: str, document: Mapping[str, Any]) -> PutOutcome:
        response = await self._client.request(
            "PUT",
            self._graph_url(subgraph_id),
            what=f"PUT {subgraph_id}",
            content=encode(_without_graph_name(document)),
            headers={"Content-Type": JSON_LD},
        )
        return PutOutcome.CREATED if response.status_code == 201 else PutOutcome.REPLACED

    async def get(self, subgraph_id: str) -> dict[str, Any] | None:
        what = f"GET {subgraph_id}"
        response = await self._client.request(
            "GET",
            self._graph_url(subgraph_id),
            what=what,
            headers={"Accept": N_TRIPLES},
            allow={404},
        )
        if response.status_code == 404:
            return None
        try:
            triples = [
                quad.triple for quad in ox.parse(response.content, format=ox.RdfFormat.N_TRIPLES)
            ]
        except (SyntaxError, ValueError) as exc:
            raise SinkError(f"{what}: the answer is not N-Triples: {exc}") from exc
        return self._compactor.document(triples)

    async def delete(self, subgraph_id: str) -> bool:
        response = await self._client.request(
            "DELETE",
            self._graph_url(subgraph_id),
            what=f"DELETE {subgraph_id}",
            allow={404},
        )
        return response.status_code != 404

    async def list(self, prefix: str = "") -> builtins.list[str]:
        what = f"LIST {prefix!r}"
        # GRAPH ?g { ?s ?p ?o } rather than GRAPH ?g {}: stores differ on binding empty graphs,
        # and a subgraph is never empty.
        query = (
            "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } "
            f"FILTER(STRSTARTS(STR(?g), {string_literal(SUBGRAPH_GRAPH_PREFIX + prefix)})) }}"
        )
        response = await self._client.request(
            "POST",
            self._query,
            what=what,
            content=query.encode("utf-8"),
            headers={
                "Content-Type": "application/sparql-query",
                "Accept": "application/sparql-results+json",
            },
        )
        ids = set()
        for row in bindings(json_body(response, what), what):
            graph = row.get("g", {}).get("value", "")
            if isinstance(graph, str) and graph.startswith(SUBGRAPH_GRAPH_PREFIX):
                ids.add(graph[len(SUBGRAPH_GRAPH_PREFIX) :])
        return sorted(ids)

    async def aclose(self) -> None:
        await self._client.aclose()

    def _graph_url(self, subgraph_id: str) -> str:
        """``{store}?graph=<the subgraph's IRI>``; the common start is encoded once (a few µs
        of each PUT: see docs/metadata-service.md, *The client's CPU per PUT*)."""
        return self._graph_query + quote(checked_id(subgraph_id), safe="")


def _without_graph_name(document: Mapping[str, Any]) -> Mapping[str, Any]:
    # A top-level @id next to @graph names a graph, which graph PUTs refuse (Oxigraph: "Named
    # graphs are not allowed"); the ?graph= parameter already names it.
    if "@id" in document and "@graph" in document:
        return {key: value for key, value in document.items() if key != "@id"}
    return document
