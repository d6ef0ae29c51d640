"""Sink for any SPARQL 1.1 Graph Store HTTP Protocol endpoint (Oxigraph server, Apache Jena Fuseki,
GraphDB, Virtuoso): each subgraph is the named graph ``urn:kg-exporter:subgraph:<id>``.

``PUT {store}?graph=<iri>`` replaces the graph (the protocol's own semantics, atomic in those
stores), ``GET`` reads it back as N-Triples, ``DELETE`` drops it. Listing is not part of the
protocol, so it is a SPARQL query on the store's query endpoint: by default the sibling ``query``
of the store URL (Oxigraph ``/store`` → ``/query``, Fuseki ``/ds/data`` → ``/ds/query``).

:meth:`GraphStoreSink.put_many` writes many subgraphs in one SPARQL 1.1 Update request to the
update endpoint (by default the sibling ``update``): one transaction in those stores, replacing
each graph as its PUT would, for :class:`~kg_exporter.sink.batching.BatchingSink`.
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import pyoxigraph as ox

from kg_exporter.errors import SinkError
from kg_exporter.identity import SUBGRAPH_GRAPH_PREFIX, subgraph_graph_iri
from kg_exporter.ntriples import of_document
from kg_exporter.sink.base import PutOutcome
from kg_exporter.sink.http import (
    SinkClient,
    json_body,
    normalized_url,
    shown_url,
    with_query,
)
from kg_exporter.sink.ids import checked_id
from kg_exporter.sink.jsonld import Compactor
from kg_exporter.sink.sparql import bindings, string_literal, term
from kg_exporter.sink.subgraph_api import JSON_LD, MAX_REQUEST_BYTES, encode

N_TRIPLES = "application/n-triples"
#: Triple terms (``<<( ... )>>``) an answer may hold before it is refused unread (see :meth:`get`).
_MAX_TRIPLE_TERMS = 64
SPARQL_UPDATE = "application/sparql-update"
SPARQL_JSON = "application/sparql-results+json"


def sibling_query_url(store_url: str, name: str = "query") -> str:
    """The query endpoint next to a graph store endpoint: its last path segment becomes ``name``
    (``update`` for the update endpoint)."""
    parts = urlsplit(store_url)
    path = parts.path.rstrip("/")
    head = path.rpartition("/")[0] if path else ""
    return urlunsplit(parts._replace(path=f"{head}/{name}", query="", fragment=""))


class GraphStoreSink:
    def __init__(
        self,
        client: SinkClient,
        store_url: str,
        *,
        query_url: str | None = None,
        update_url: str | None = None,
        compactor: Compactor,
    ) -> None:
        self._client = client
        self._store = normalized_url(store_url)
        self._graph_query = with_query(self._store, {"graph": subgraph_graph_iri("")})
        self._query = normalized_url(query_url or sibling_query_url(store_url))
        self._update = normalized_url(update_url or sibling_query_url(store_url, "update"))
        self.batch_request = f"SPARQL Update to {shown_url(self._update)}"
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

    async def put_many(
        self, items: Sequence[tuple[str, Mapping[str, Any]]]
    ) -> builtins.list[PutOutcome | SinkError]:
        """PUT each ``(id, document)`` (ids distinct); the outcome or error of each, in order.

        The subgraphs go in one SPARQL Update (:func:`replace_graphs`; more than
        :data:`MAX_REQUEST_BYTES` of statements in further ones, each after the one before is
        answered), after one query that tells which graphs exist already (CREATED or REPLACED,
        as the PUT's 201 or 204 would).
        A subgraph whose statements cannot go in it verbatim (see :func:`update_statements`)
        gets its own PUT, as does a lone subgraph (one request instead of two). Raises for the
        request as a whole what :meth:`SinkClient.request` raises: ``SinkRejected`` when the
        store refuses the update or the query (no endpoint: 404, 405, 415), ``SinkUnavailable``.
        """
        outcomes: builtins.list[PutOutcome | SinkError] = []
        batched: dict[str, tuple[int, bytes]] = {}  # graph IRI: (index in items, statements)
        alone: builtins.list[int] = []
        size = 0
        for index, (subgraph_id, document) in enumerate(items):
            outcomes.append(PutOutcome.REPLACED)  # placeholder, replaced below
            try:
                checked_id(subgraph_id)
            except SinkError as exc:
                outcomes[index] = exc
                continue
            statements = update_statements(_without_graph_name(document))
            if statements is None:
                alone.append(index)
                continue
            if batched and size + len(statements) > MAX_REQUEST_BYTES:
                await self._replace(batched, outcomes)
                batched, size = {}, 0
            batched[subgraph_graph_iri(subgraph_id)] = (index, statements)
            size += len(statements)
        if len(batched) == 1:
            alone += [index for index, _ in batched.values()]
        elif batched:
            await self._replace(batched, outcomes)

        async def put_alone(index: int) -> None:
            try:
                outcomes[index] = await self.put(*items[index])
            except SinkError as exc:
                outcomes[index] = exc

        await asyncio.gather(*(put_alone(index) for index in alone))
        return outcomes

    async def _replace(
        self,
        batched: dict[str, tuple[int, bytes]],
        outcomes: builtins.list[PutOutcome | SinkError],
    ) -> None:
        """One query and one update for ``batched`` (see :meth:`put_many`); the outcomes."""
        existing = await self._existing(builtins.list(batched))
        await self._client.request(
            "POST",
            self._update,
            what=f"UPDATE {len(batched)} subgraphs",
            content=replace_graphs({graph: nt for graph, (_, nt) in batched.items()}),
            headers={"Content-Type": SPARQL_UPDATE},
        )
        for graph, (index, _) in batched.items():
            outcomes[index] = PutOutcome.REPLACED if graph in existing else PutOutcome.CREATED

    async def _existing(self, graphs: builtins.list[str]) -> set[str]:
        """Which of ``graphs`` hold any triple now."""
        what = f"QUERY {len(graphs)} subgraphs"
        values = " ".join(f"<{graph}>" for graph in graphs)
        query = (
            f"SELECT ?g WHERE {{ VALUES ?g {{ {values} }} "
            "FILTER EXISTS { GRAPH ?g { ?s ?p ?o } } }"
        )
        response = await self._client.request(
            "POST",
            self._query,
            what=what,
            content=query.encode("utf-8"),
            headers={"Content-Type": "application/sparql-query", "Accept": SPARQL_JSON},
        )
        # term(): a malformed binding is a SinkError, not an AttributeError in every put.
        rows = bindings(json_body(response, what), what)
        return {
            graph.value
            for row in rows
            if isinstance(graph := term(row.get("g"), what), ox.NamedNode)
        }

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
        if response.content.count(b"<<(") > _MAX_TRIPLE_TERMS:
            # RDF 1.2 triple terms nest, and pyoxigraph's parser recurses per level: ~100,000 of
            # them overflow the native stack (SIGSEGV, the daemon's whole process; measured).
            # kg-exporter never writes one; a store answering thousands is not one to read.
            raise SinkError(f"{what}: the answer holds more than {_MAX_TRIPLE_TERMS} triple terms")
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
                "Accept": SPARQL_JSON,
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


def update_statements(document: Mapping[str, Any]) -> bytes | None:
    """The statements of ``document`` as N-Triples that can go verbatim into a SPARQL ``INSERT
    DATA`` beside other graphs, or None when it must go alone in a PUT: what
    :func:`~kg_exporter.ntriples.of_document` sends as it is (the store's own parser judges it
    then), and blank nodes: their labels are shared by every graph of one ``INSERT DATA``, where
    two subgraphs' ``_:b0`` would become one node (a literal holding ``_:`` is sent alone too,
    needlessly but harmlessly)."""
    statements = of_document(document)
    if statements is None or b"_:" in statements:
        return None
    return statements


def replace_graphs(graphs: Mapping[str, bytes]) -> bytes:
    """One SPARQL Update making each graph ``{iri: N-Triples}`` exactly those statements: every
    graph dropped, then all inserted by one ``INSERT DATA`` (N-Triples lines are valid triples
    there). One request is one transaction in Oxigraph, Fuseki and GraphDB."""
    parts = [b"DROP SILENT GRAPH <%s> ;\n" % graph.encode() for graph in graphs]
    parts.append(b"INSERT DATA {\n")
    for graph, statements in graphs.items():
        parts += (b"GRAPH <%s> {\n" % graph.encode(), statements, b"}\n")
    parts.append(b"}\n")
    return b"".join(parts)
