"""The GLACIATION Metadata Service v0 API as it really behaves (docs: contracts.md), for both the
snapshot writer and the ``glaciation`` sink.

- ``PATCH /api/v0/graph`` appends the body as a new named graph ``<top-level @id>/timestamp:<ms>``,
  or ``timestamp:<ms>`` without an ``@id``, and names it in its answer: ``"Success - Inserted N
  triple(s) into graph <NAME>."``, which is how a writer learns what it wrote without looking.
- ``GET /api/v0/graph?query=`` runs a SELECT; data lives only in named graphs.
- ``POST /api/v0/graph/update`` with exactly ``{"query": ...}``; the service splits ``DROP GRAPH
  <...>;`` statements and runs each on its own.

The service handles one request at a time, so callers keep one or two requests in flight, never
more: extra ones only queue inside it until they time out.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from kg_exporter.settings import SinkSettings
from kg_exporter.sink.backoff import Backoff
from kg_exporter.sink.http import SinkClient, json_body, make_wire, normalized_url
from kg_exporter.sink.sparql import bindings, term

_GRAPH_IN_ANSWER = re.compile(r"into graph <([^<>]*)>")
TIMESTAMP_PREFIX = "timestamp:"
SNAPSHOT_INFIX = "/" + TIMESTAMP_PREFIX
#: Below the service's idle timeout (uvicorn's default, 5 s).
KEEPALIVE_SECONDS = 2.0


class GlaciationApi:
    def __init__(self, client: SinkClient, base_url: str) -> None:
        self.client = client
        self.graph_url = normalized_url(base_url).rstrip("/") + "/api/v0/graph"

    async def patch(
        self, body: Mapping[str, Any], *, what: str, on_retry: Callable[[], None] | None = None
    ) -> str | None:
        """Append ``body``; the name of the graph it became, when the answer says it."""
        response = await self.client.request(
            "PATCH",
            self.graph_url,
            what=what,
            content=json.dumps(body, ensure_ascii=True, separators=(",", ":")).encode(),
            headers={"Content-Type": "application/json"},
            on_retry=on_retry,
        )
        try:
            answer = response.json()
        except (ValueError, RecursionError):
            answer = response.text
        match = _GRAPH_IN_ANSWER.search(answer) if isinstance(answer, str) else None
        return match.group(1) if match else None

    async def select(self, query: str, *, what: str) -> list[dict[str, Any]]:
        response = await self.client.request(
            "GET",
            self.graph_url,
            what=what,
            params={"query": query},
            headers={"Accept": "application/json"},
        )
        return bindings(json_body(response, what), what)

    async def graphs(self, query: str, *, what: str, var: str = "g") -> list[str]:
        """The graph names (IRIs) ``query`` binds to ``?var``."""
        return [term(row.get(var), what).value for row in await self.select(query, what=what)]

    async def drop(self, graphs: Iterable[str], *, what: str) -> None:
        names = [g for g in graphs if ">" not in g and "<" not in g]
        if not names:
            return
        await self.client.request(
            "POST",
            self.graph_url + "/update",
            what=what,
            content=json.dumps({"query": " ; ".join(f"DROP GRAPH <{g}>" for g in names)}).encode(),
            headers={"Content-Type": "application/json"},
        )

    async def aclose(self) -> None:
        await self.client.aclose()


def open_glaciation_api(
    settings: SinkSettings,
    *,
    rng: Callable[[], float] = random.random,
    clock: Callable[[], float] = time.time,
) -> GlaciationApi:
    """A client of its own for the service at ``settings.url`` (its timeout, attempts and backoff),
    with two connections: the service answers one request at a time anyway. Idle connections are
    kept 2 s, under uvicorn's 5 s, so a PATCH never races the server closing its connection."""
    client = SinkClient(
        make_wire(settings, max_connections=2, keepalive_seconds=KEEPALIVE_SECONDS),
        backoff=Backoff.from_settings(settings),
        timeout_seconds=settings.timeout_seconds,
        owns_client=True,
        rng=rng,
        clock=clock,
    )
    return GlaciationApi(client, str(settings.url))


def timestamp_of(graph: str) -> int | None:
    """The server time (ms) in a snapshot graph's name, ``[<iri>/]timestamp:<ms>``."""
    stamp = graph.rpartition(TIMESTAMP_PREFIX)[2] if TIMESTAMP_PREFIX in graph else ""
    return int(stamp) if stamp.isdigit() else None
