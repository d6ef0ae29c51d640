"""The default sink: the Metadata Service ``/subgraph`` CRUD API of contracts.md."""

from __future__ import annotations

import builtins
import json
from collections.abc import Mapping
from typing import Any

from kg_exporter.errors import SinkError
from kg_exporter.sink.base import PutOutcome
from kg_exporter.sink.http import SinkClient, json_body
from kg_exporter.sink.ids import checked_id, id_path_segment

JSON_LD = "application/ld+json"
#: Header of a 204 answer to a PUT that changed nothing: the subgraph already was the body. The
#: reference Metadata Service sends it; a service that does not is read as "replaced".
UNCHANGED_HEADER = "Subgraph-Unchanged"


class SubgraphApiSink:
    def __init__(self, client: SinkClient, base_url: str) -> None:
        self._client = client
        self._base = base_url.rstrip("/")

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
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
