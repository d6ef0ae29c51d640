"""The default sink: the Metadata Service ``/subgraph`` CRUD API of contracts.md."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from kg_exporter.errors import SinkError, SinkRejected, SinkUnavailable
from kg_exporter.ntriples import of_document
from kg_exporter.sink.base import PutOutcome
from kg_exporter.sink.http import SinkClient, is_retryable, json_body, normalized_url
from kg_exporter.sink.ids import checked_id, id_path_segment

JSON_LD = "application/ld+json"
NDJSON = "application/x-ndjson"
#: Header of a 204 answer to a PUT that changed nothing: the subgraph already was the body. The
#: reference Metadata Service sends it; a service that does not is read as "replaced".
UNCHANGED_HEADER = "Subgraph-Unchanged"
#: Largest batch request body :meth:`SubgraphApiSink.put_many` sends (more subgraphs go in
#: further requests): under the reference service's default body limit, 4 MiB, with room left.
MAX_REQUEST_BYTES = 3 * 1024 * 1024 + 512 * 1024


class SubgraphApiSink:
    batch_request = "POST /subgraph"

    def __init__(self, client: SinkClient, base_url: str, *, ntriples: bool = False) -> None:
        """``ntriples``: batches carry each subgraph's statements as N-Triples, converted here
        (~0.17 ms per typical subgraph), rather than its JSON-LD document, which the service
        then need not parse (~0.35 ms there): what backfill does, whose rendering runs beside
        the service's work."""
        self._client = client
        self._base = normalized_url(base_url).rstrip("/")
        self._ntriples = ntriples

    async def put(self, subgraph_id: str, document: Mapping[str, Any]) -> PutOutcome:
        response = await self._client.request(
            "PUT",
            self._url(subgraph_id),
            what=f"PUT {subgraph_id}",
            content=encode(document),
            headers={"Content-Type": JSON_LD},
        )
        if response.status_code == 201:
            return PutOutcome.CREATED
        if response.headers.get(UNCHANGED_HEADER, "").lower() == "true":
            return PutOutcome.UNCHANGED
        return PutOutcome.REPLACED

    async def put_many(
        self, items: Sequence[tuple[str, Mapping[str, Any]]]
    ) -> builtins.list[PutOutcome | SinkError]:
        """PUT each ``(id, document)`` (ids distinct), in one ``POST /subgraph`` request; what
        each did, in order, or the :class:`SinkError` its own PUT would have raised.

        Raises (for the whole batch) what :meth:`SinkClient.request` raises: SinkUnavailable
        when the service cannot be reached, SinkRejected when it refuses the request itself (a
        service without batches answers 404, 405 or 415: see :class:`BatchingSink`). Subgraphs
        past :data:`MAX_REQUEST_BYTES` go in a further request, after the first is answered.
        """
        outcomes: builtins.list[PutOutcome | SinkError] = []
        lines: builtins.list[bytes] = []
        sent: builtins.list[int] = []
        size = 0
        for subgraph_id, document in items:
            try:
                checked_id(subgraph_id)
            except SinkError as exc:
                outcomes.append(exc)
                continue
            line = self._line(subgraph_id, document)
            if lines and size + len(line) > MAX_REQUEST_BYTES:
                await self._post(lines, sent, items, outcomes)
                lines, sent, size = [], [], 0
            sent.append(len(outcomes))
            outcomes.append(PutOutcome.CREATED)  # placeholder, replaced from the answer
            lines.append(line)
            size += len(line) + 1
        if lines:
            await self._post(lines, sent, items, outcomes)
        return outcomes

    def _line(self, subgraph_id: str, document: Mapping[str, Any]) -> bytes:
        if self._ntriples:
            statements = of_document(document)
            if statements is not None:
                return orjson.dumps({"id": subgraph_id, "ntriples": statements.decode()})
        return orjson.dumps({"id": subgraph_id, "document": document})

    async def _post(
        self,
        lines: builtins.list[bytes],
        sent: builtins.list[int],
        items: Sequence[tuple[str, Mapping[str, Any]]],
        outcomes: builtins.list[PutOutcome | SinkError],
    ) -> None:
        """POST ``lines``, the subgraphs ``items[i]`` for ``i`` in ``sent``; each one's outcome
        into ``outcomes[i]``."""
        what = f"POST {len(lines)} subgraphs"
        response = await self._client.request(
            "POST",
            f"{self._base}/subgraph",
            what=what,
            content=b"\n".join(lines) + b"\n",
            headers={"Content-Type": NDJSON},
        )
        answer = json_body(response, what)
        results = answer.get("results") if isinstance(answer, dict) else None
        if not isinstance(results, list) or len(results) != len(lines):
            raise SinkError(f"{what}: the answer is not one result per subgraph")
        for index, result in zip(sent, results, strict=True):
            outcomes[index] = _outcome(result, items[index][0])

    async def get(self, subgraph_id: str) -> dict[str, Any] | None:
        what = f"GET {subgraph_id}"
        response = await self._client.request(
            "GET", self._url(subgraph_id), what=what, headers={"Accept": JSON_LD}, allow={404}
        )
        if response.status_code == 404:
            return None
        document = json_body(response, what)
        if not isinstance(document, dict):
            raise SinkError(f"{what}: the answer is JSON but not a JSON-LD object")
        return document

    async def delete(self, subgraph_id: str) -> bool:
        response = await self._client.request(
            "DELETE", self._url(subgraph_id), what=f"DELETE {subgraph_id}", allow={404}
        )
        return response.status_code != 404

    async def list(self, prefix: str = "") -> builtins.list[str]:
        what = f"LIST {prefix!r}"
        response = await self._client.request(
            "GET", f"{self._base}/subgraph", what=what, params={"prefix": prefix}
        )
        ids = json_body(response, what)
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise SinkError(f"{what}: the answer is not a JSON list of ids")
        return sorted(ids)

    async def aclose(self) -> None:
        await self._client.aclose()

    def _url(self, subgraph_id: str) -> str:
        return f"{self._base}/subgraph/{id_path_segment(checked_id(subgraph_id))}"


def encode(document: Mapping[str, Any]) -> bytes:
    return orjson.dumps(document)


def _outcome(result: Any, subgraph_id: str) -> PutOutcome | SinkError:
    """One line of a batch answer as what the PUT of that subgraph would have given."""
    status = result.get("status") if isinstance(result, dict) else None
    if not isinstance(status, int):
        return SinkError(f"POST {subgraph_id}: the result is not {{'status': ...}}: {result!r}")
    if status == 201:
        return PutOutcome.CREATED
    if status == 204:
        return PutOutcome.UNCHANGED if result.get("unchanged") is True else PutOutcome.REPLACED
    message = ": ".join(str(result[key]) for key in ("error", "detail") if result.get(key))
    if is_retryable(status):
        return SinkUnavailable(f"PUT {subgraph_id} in a batch: HTTP {status}: {message}")
    return SinkRejected(status, message or f"HTTP {status}")
