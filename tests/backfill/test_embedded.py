"""The embedded store as a sink: the service's storage and body checks, in-process."""

from __future__ import annotations

from typing import Any

import pytest

from kg_exporter import SinkRejected, open_store
from kg_exporter.backfill import WriteOutcome
from kg_exporter.sink import PutOutcome

CONTEXT = {"kgx": "https://w3id.org/kg-exporter/vocab#", "xsd": "http://www.w3.org/2001/XMLSchema#"}


def document(amount: str) -> dict[str, Any]:
    return {
        "@context": CONTEXT,
        "@graph": [
            {
                "@id": "urn:x",
                "kgx:name": "x",
                "kgx:quantity": {"@value": amount, "@type": "xsd:double"},
            }
        ],
    }


async def test_writes_say_created_replaced_or_unchanged() -> None:
    sink = open_store(":memory:")
    assert await sink.put_outcome("c:a", document("0.25")) is WriteOutcome.CREATED
    assert await sink.put_outcome("c:a", document("0.25")) is WriteOutcome.UNCHANGED
    # Another spelling of the same number is the same graph: the store keeps values.
    assert await sink.put_outcome("c:a", document("2.5E-1")) is WriteOutcome.UNCHANGED
    assert await sink.put_outcome("c:a", document("0.5")) is WriteOutcome.REPLACED
    assert await sink.put("c:b", document("1")) is PutOutcome.CREATED
    assert await sink.put("c:b", document("2")) is PutOutcome.REPLACED
    assert await sink.list("c:") == ["c:a", "c:b"]
    got = await sink.get("c:a")
    assert got is not None and got["@graph"][0]["kgx:name"] == "x"
    assert await sink.delete("c:a") and not await sink.delete("c:a")
    assert await sink.get("c:a") is None
    await sink.aclose()


async def test_what_the_service_refuses_the_store_refuses() -> None:
    sink = open_store(":memory:")
    with pytest.raises(SinkRejected, match="400: no triples"):
        await sink.put("c:a", {"@context": CONTEXT, "@graph": []})
    with pytest.raises(SinkRejected, match="remote @context not allowed"):
        await sink.put("c:a", {"@context": "https://example.org/ctx", "@id": "urn:x"})
    with pytest.raises(SinkRejected, match="invalid subgraph id"):
        await sink.put("a/b", document("1"))
    assert await sink.list() == []
