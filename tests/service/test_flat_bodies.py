"""Rendered JSON-LD is read by the service itself (kg_exporter.service.flat), and every body gets
exactly the answer the body workers give: the same status, error and detail, the same statements
stored. The oracle is the workers' own path (``parse_bodies`` without the documents, so nothing
can take the flat reader), run in a real worker process."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pyoxigraph as ox
import pytest
import rdflib
from aiohttp.test_utils import TestServer
from prometheus_client import CollectorRegistry
from rdflib.compare import isomorphic

from kg_exporter.resources import context as product_context
from kg_exporter.service import SubgraphStore, create_app
from kg_exporter.service.batch import Entry, digest, parse_bodies, read_batch, read_flat
from kg_exporter.service.flat import flat_statements
from kg_exporter.service.limits import Limits
from kg_exporter.service.validation import BadRequest, checked_statements
from kg_exporter.service.worker import PARSE
from kg_exporter.service.workers import WorkerPool
from kg_exporter.sink.jsonld import Compactor
from tests.render.test_examples_conform import SUBGRAPHS
from tests.render.test_hostile import RENDERER, hostile_deployment
from tests.sink.documents import workload_document

#: A small triple limit, so that a document can be over it.
LIMITS = Limits(max_triples=200)
CONTEXT = {
    "@version": 1.1,
    "ex": "http://example.org/vocab#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
NDJSON = {"Content-Type": "application/x-ndjson"}


def node(**properties: Any) -> dict[str, Any]:
    return {"@context": CONTEXT, "@graph": [{"@id": "http://example.org/a", **properties}]}


def hostile(text: str) -> dict[str, Any]:
    workload, _ = RENDERER.workload(hostile_deployment(text[:40] or "x", "ns", text, text))
    return workload.document


def nested(depth: int) -> dict[str, Any]:
    document: dict[str, Any] = {"@context": CONTEXT, "@graph": []}
    for _ in range(depth):
        document = {"@context": CONTEXT, "@graph": [document]}
    return document


RENDERED = sorted(SUBGRAPHS)[:8]
FLAT, PARSER, REFUSED = "read here", "parser", "refused"
BOOLEANS_AND_TYPED = {"ex:b": [True, False], "ex:d": {"@value": "2026-12-02", "@type": "xsd:date"}}
NAMED_GRAPH = {"@context": CONTEXT, "@id": "http://g", "@graph": node(p="x")["@graph"]}
TOO_MANY_TERMS = {
    "@context": {f"p{i}": f"http://example.org/{i}#" for i in range(1001)},
    "@graph": [{"@id": "http://example.org/a", "p1:x": "y"}],
}
# A 4 KB prefix used 150 times: ~5 KB of JSON, ~600 KB of N-Triples. Read here, a 4 MiB batch
# of such lines would have become ~500 MB in the service; the parser's path has a memory limit.
AMPLIFIED = {
    "@context": {"@version": 1.1, "big": "http://example.org/" + "x" * 4000 + "#"},
    "@graph": [{"@id": "http://example.org/a", "big:p": [f"v{i}" for i in range(150)]}],
}
# (name, document, what becomes of it)
TABLE: list[tuple[str, dict[str, Any], str]] = [
    *((f"rendered {name}", SUBGRAPHS[name].document, FLAT) for name in RENDERED),
    ("hostile quotes", hostile('a"b\\c\n\r\t{{ x }}'), FLAT),
    ("hostile unicode", hostile("é ☃ 😀 \u2028 \u0085 \x7f"), FLAT),
    ("hostile controls", hostile("nul-free \x01\x08\x0b\x0c\x1f"), FLAT),
    ("blank node label in a literal", node(**{"ex:p": "_:b0 <x> ."}), FLAT),
    ("IRI-like literal", node(**{"ex:p": "<http://example.org/b> ."}), FLAT),
    (
        "numbers",
        node(
            **{"ex:n": [0, -7, 2**53 - 1, 0.25, 2.0, -0.0, 1.5e-7, 5e-324, -2.5e-300, 123456.789]}
        ),
        FLAT,
    ),
    ("booleans and typed", node(**BOOLEANS_AND_TYPED), FLAT),
    ("a lone node", {"@context": CONTEXT, "@id": "http://example.org/a", "ex:p": "x"}, FLAT),
    ("the triple limit", node(**{"ex:p": [f"v{i}" for i in range(200)]}), FLAT),
    ("language tags", workload_document("web"), PARSER),
    ("a number past 2**53", node(**{"ex:n": 2**60}), PARSER),
    ("a large double", node(**{"ex:n": 1e22}), PARSER),
    ("an integral double past 2**53", node(**{"ex:n": 1e20}), PARSER),
    ("a blank node", node(**{"ex:p": {"ex:q": "inner"}}), PARSER),
    ("a list", node(**{"ex:p": {"@list": ["a", "b"]}}), PARSER),
    ("null", node(**{"ex:p": None, "ex:q": "x"}), PARSER),
    ("a long prefix used many times", AMPLIFIED, PARSER),
    ("over the triple limit", node(**{"ex:p": [f"v{i}" for i in range(201)]}), REFUSED),
    ("no triples", {"@context": CONTEXT, "@graph": []}, REFUSED),
    ("a node without properties", {"@context": CONTEXT, "@graph": [{"@id": "ex:a"}]}, REFUSED),
    ("a named graph", NAMED_GRAPH, REFUSED),
    ("does not read back", node(**{"ex:p": {"@id": "kgx:not-a-prefix-here"}}), REFUSED),
    ("too deep", nested(70), REFUSED),
    ("too many terms", TOO_MANY_TERMS, REFUSED),
    ("@direction", node(**{"ex:p": {"@value": "x", "@direction": "ltr"}}), REFUSED),
    ("a remote context", {"@context": "http://example.org/c.jsonld", "@id": "http://a"}, REFUSED),
    ("an invalid IRI", node(**{"ex:p": {"@id": "http://a b"}}), REFUSED),
    ("a relative IRI only", node(**{"ex:p": {"@id": "relative"}}), REFUSED),
]
NAMES = [name for name, _, _ in TABLE]
IDS = [f"c1:case-{i}" for i in range(len(TABLE))]


def outcome(answer: bytes | BadRequest) -> Any:
    """What a client sees of an outcome: the refusal, or the statements (a multiset)."""
    if isinstance(answer, BadRequest):
        return (answer.status, answer.error, answer.detail)
    return Counter(answer.splitlines())


@pytest.fixture(scope="module")
def expected() -> list[Any]:
    """Each document's outcome on the workers' path (the oracle)."""

    async def oracle() -> list[bytes | BadRequest]:
        pool = WorkerPool(
            PARSE,
            size=1,
            memory_bytes=LIMITS.parse_memory_bytes,
            init={"context": dict(product_context()), "limits": dataclasses.asdict(LIMITS)},
            queue_seconds=LIMITS.queue_seconds,
        )
        entries = [
            Entry(subgraph_id, body, digest(body))
            for subgraph_id, body in zip(IDS, (orjson.dumps(d) for _, d, _ in TABLE), strict=True)
        ]
        try:
            return await parse_bodies(pool, entries, LIMITS, Compactor(product_context()))
        finally:
            await pool.close()

    return [outcome(answer) for answer in asyncio.run(oracle())]


def test_the_oracle_refuses_what_the_table_says(expected: list[Any]) -> None:
    refused = [name for name, answer in zip(NAMES, expected, strict=True) if type(answer) is tuple]
    assert refused == [name for name, _, fate in TABLE if fate == REFUSED]


@pytest.mark.parametrize(("name", "document", "fate"), TABLE, ids=NAMES)
def test_the_flat_reader_gives_the_workers_answer_or_leaves_the_body_to_them(
    name: str, document: dict[str, Any], fate: str, expected: list[Any]
) -> None:
    body = orjson.dumps(document)
    compactor = Compactor(product_context())
    want = expected[NAMES.index(name)]
    for given in (document, None):  # a batch line's document, and a PUT body
        try:
            read = flat_statements(body, LIMITS, compactor, given)
        except BadRequest as exc:
            assert outcome(exc) == want
            continue
        assert (read is not None) == (fate == FLAT)
        if read is not None:
            assert outcome(read[0]) == want
            assert read[1] == checked_statements(body, LIMITS, compactor)[1]


@pytest.mark.parametrize(
    "body",
    [
        b'{"@context":{"ex":"http://example.org/"},"@id":"http://a","ex:p":"x","ex:p":"y"}',
        b'{"@context": {"ex": "http://example.org/"}, "@id": "http://a", "ex:p": "x"}',
        b'{"@context":{"ex":"http://example.org/"},"@id":"http://a","ex:p":1.50}',
        b'{"@context":{"ex":"http://example.org/"},"@id":"http://a","ex:p":"\\u00e9"}',
    ],
    ids=["repeated key", "not compact", "a number spelled otherwise", "an escape"],
)
def test_a_put_body_is_read_here_only_as_its_own_compact_json(body: bytes) -> None:
    # A JSON reader may see these differently from the JSON-LD parser: the parser reads them.
    assert flat_statements(body, LIMITS, None) is None
    assert flat_statements(orjson.dumps(orjson.loads(body)), LIMITS, None) is not None


@pytest.fixture
async def client() -> AsyncIterator[tuple[httpx.AsyncClient, SubgraphStore, CollectorRegistry]]:
    store = SubgraphStore.open(":memory:")
    registry = CollectorRegistry()
    server = TestServer(create_app(store, registry=registry, limits=LIMITS), port=0)
    await server.start_server()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=60) as c:
        try:
            yield c, store, registry
        finally:
            await c.aclose()
            await server.close()
            store.close()


def read_by(registry: CollectorRegistry, reader: str) -> float:
    value = registry.get_sample_value("kg_metadata_service_bodies_read_total", {"reader": reader})
    return value or 0.0


def same(stored: list[ox.Triple] | None, answer: Counter[bytes]) -> bool:
    """Whether the store holds the statements of ``answer`` (as it gives them back: numbers in
    canonical form, blank nodes relabelled)."""
    scratch = ox.Store()
    scratch.load(b"\n".join(answer.elements()), format=ox.RdfFormat.N_TRIPLES)
    graphs = [
        rdflib.Graph().parse(
            data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b"", format="nt"
        )
        for triples in (stored or [], [quad.triple for quad in scratch])
    ]
    return isomorphic(*graphs)


async def test_batches_and_puts_answer_and_store_what_the_workers_would(
    client: tuple[httpx.AsyncClient, SubgraphStore, CollectorRegistry], expected: list[Any]
) -> None:
    c, store, registry = client
    body = b"".join(
        orjson.dumps({"id": subgraph_id, "document": document}) + b"\n"
        for subgraph_id, (_, document, _) in zip(IDS, TABLE, strict=True)
    )
    assert all(isinstance(line, Entry) for line in read_batch(body))
    response = await c.post("/subgraph", content=body, headers=NDJSON)
    results = response.json()["results"]
    flat = sum(1 for _, _, fate in TABLE if fate == FLAT)
    # The flat reader took exactly the table's rendered documents; the rest went to the parser.
    assert read_by(registry, "flat") == flat
    for (name, _, _), result, want in zip(TABLE, results, expected, strict=True):
        if isinstance(want, tuple):
            assert (result["status"], result["error"], result["detail"]) == want, name
        else:
            assert result["status"] == 201, (name, result)
            assert same(store.get(result["id"]), want), name
    for subgraph_id, (name, document, _), want in zip(IDS, TABLE, expected, strict=True):
        put_id = subgraph_id + "-put"
        answer = await c.put(
            f"/subgraph/{put_id}",
            content=orjson.dumps(document),
            headers={"Content-Type": "application/ld+json"},
        )
        if isinstance(want, tuple):
            got = answer.json()
            assert (answer.status_code, got["error"], got["detail"]) == want, name
        else:
            assert answer.status_code == 201, (name, answer.text)
            assert same(store.get(put_id), want), name
    assert read_by(registry, "flat") == 2 * flat


async def test_a_burst_of_rendered_documents_never_reaches_the_parser(
    client: tuple[httpx.AsyncClient, SubgraphStore, CollectorRegistry],
) -> None:
    c, store, registry = client
    body = b"".join(
        orjson.dumps({"id": f"c1:{i}", "document": SUBGRAPHS[name].document}) + b"\n"
        for i, name in enumerate(sorted(SUBGRAPHS))
    )
    response = await c.post("/subgraph", content=body, headers=NDJSON)
    assert [r["status"] for r in response.json()["results"]] == [201] * len(SUBGRAPHS)
    assert (read_by(registry, "flat"), read_by(registry, "parser")) == (len(SUBGRAPHS), 0)
    # Sent again: the same bodies, unchanged, neither read nor written.
    again = await c.post("/subgraph", content=body, headers=NDJSON)
    assert {r.get("unchanged") for r in again.json()["results"]} == {True}
    assert store.count() == len(SUBGRAPHS)


async def test_a_large_batch_is_read_off_the_event_loop(
    client: tuple[httpx.AsyncClient, SubgraphStore, CollectorRegistry],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A full 4 MiB batch takes ~0.12 s to read: on the event loop it would hold up every other
    # request (health probes, queries). A small one (a daemon's lone start) stays on the loop.
    import threading

    from kg_exporter.service import app

    threads: list[bool] = []

    def recording(*args: Any) -> Any:
        threads.append(threading.current_thread() is threading.main_thread())
        return read_flat(*args)

    monkeypatch.setattr(app, "read_flat", recording)
    c, _, _ = client
    names = sorted(SUBGRAPHS)

    def batch(first: int, count: int) -> bytes:
        return b"".join(
            orjson.dumps({"id": f"c1:{i}", "document": SUBGRAPHS[names[i % len(names)]].document})
            + b"\n"
            for i in range(first, first + count)
        )

    small = await c.post("/subgraph", content=batch(0, 1), headers=NDJSON)
    large = await c.post("/subgraph", content=batch(1, 200), headers=NDJSON)  # ~1 MB
    assert {r["status"] for r in small.json()["results"] + large.json()["results"]} == {201}
    assert threads == [True, False]
