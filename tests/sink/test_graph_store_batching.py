"""Concurrent puts to the ``graph-store`` sink go out as one SPARQL Update to a real ``oxigraph
serve`` (the session's, see conftest), with the guarantees of one PUT per subgraph: each its own
outcome, a bad subgraph refused alone, order per id, PUTs when there is no update endpoint.

Requests are counted by an httpx client's event hook: the sink's real requests, over real HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from kg_exporter.errors import SinkError, SinkRejected
from kg_exporter.sink import BatchingSink, GraphStoreSink, PutOutcome, Sink, graph_store, open_sink
from kg_exporter.sink.graph_store import replace_graphs
from tests.sink.conftest import sink_settings
from tests.sink.documents import same_graph, workload_document
from tests.sink.scripted import Reply, scripted_server

#: Refused by Oxigraph's Graph Store PUT (it loads no remote context; nor does this client).
BAD = {"@context": "https://kg-exporter.example.org/remote.jsonld", "@graph": [{"@id": "urn:a"}]}


@contextlib.asynccontextmanager
async def counted_sink(url: str, **settings: Any) -> AsyncIterator[tuple[Sink, Counter[str]]]:
    """A graph-store sink, and ``"METHOD /path"`` counts of the requests it sent."""
    sent: Counter[str] = Counter()

    async def count(request: httpx.Request) -> None:
        sent[f"{request.method} {request.url.path}"] += 1

    async with httpx.AsyncClient(event_hooks={"request": [count]}) as client:
        sink = open_sink(sink_settings("graph-store", url, **settings), client=client)
        try:
            yield sink, sent
        finally:
            await sink.aclose()


async def put_all(sink: Sink, items: list[tuple[str, Any]]) -> list[PutOutcome | SinkError]:
    async def put(subgraph_id: str, document: Any) -> PutOutcome | SinkError:
        try:
            return await sink.put(subgraph_id, document)
        except SinkError as exc:
            return exc

    return list(await asyncio.gather(*(put(i, d) for i, d in items)))


def documents(prefix: str, count: int) -> list[tuple[str, dict[str, Any]]]:
    return [(f"{prefix}w{index:03d}", workload_document(f"w{index}")) for index in range(count)]


async def test_concurrent_puts_go_out_as_one_update_each_with_its_outcome(
    sink_urls: dict[str, str], unique_prefix: str
) -> None:
    items = documents(unique_prefix, 60)
    # Two subgraphs with the same blank node label: each goes alone (one INSERT DATA would make
    # them one node), and a subgraph the store refuses, alone with its own error.
    blank = {"@graph": [{"@id": "_:b0", "urn:kgx:p": "x"}, {"@id": "urn:s", "urn:kgx:q": 1}]}
    items += [(f"{unique_prefix}blank{index}", blank) for index in range(2)]
    items.insert(7, (f"{unique_prefix}bad", BAD))
    async with counted_sink(sink_urls["graph-store"], batch_max=100) as (sink, sent):
        assert isinstance(sink, BatchingSink)
        outcomes = await put_all(sink, items)
        refused = outcomes.pop(7)
        assert isinstance(refused, SinkRejected) and refused.status == 400, refused
        assert "remote context" in str(refused)
        assert outcomes == [PutOutcome.CREATED] * 62
        assert sent == {"POST /query": 1, "POST /update": 1, "PUT /store": 3}, sent
        # Again, with one changed and one new: REPLACED as the PUT's 204 would say.
        changed = workload_document("w001", phase="Failed")
        again = [items[0], (items[1][0], changed), (f"{unique_prefix}new", items[2][1])]
        assert await put_all(sink, again) == [
            PutOutcome.REPLACED,
            PutOutcome.REPLACED,
            PutOutcome.CREATED,
        ]
        assert sent["POST /update"] == 2
        assert same_graph(await sink.get(items[1][0]), changed)
        assert same_graph(await sink.get(items[30][0]), items[30][1])
        assert same_graph(await sink.get(f"{unique_prefix}blank1"), blank)
        assert len(await sink.list(unique_prefix)) == 63


async def test_a_batch_refused_as_a_whole_goes_again_one_put_each(
    sink_urls: dict[str, str], unique_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Oxigraph refuses every update to this URL (400: an invalid using-graph-uri), as a store
    # refuses a request too large or not allowed: each subgraph is then PUT on its own.
    store = sink_urls["graph-store"]
    update = store.removesuffix("/store") + "/update?using-graph-uri=not%20an%20iri"
    items = documents(unique_prefix, 20)
    items.insert(3, (f"{unique_prefix}bad", BAD))
    async with counted_sink(store, batch_max=100, update_url=update) as (sink, sent):
        with caplog.at_level(logging.INFO, logger="kg_exporter.sink"):
            outcomes = await put_all(sink, items)
        refused = outcomes.pop(3)
        assert isinstance(refused, SinkRejected) and "remote context" in str(refused)
        assert outcomes == [PutOutcome.CREATED] * 20
        assert sent == {"POST /query": 1, "POST /update": 1, "PUT /store": 21}, sent
        assert "refused as a whole" in caplog.text and "Invalid IRI" in caplog.text
        # Not remembered: the next batch tries the update again.
        assert await put_all(sink, items[:2]) == [PutOutcome.REPLACED] * 2
        assert sent["POST /update"] == 2
        assert same_graph(await sink.get(items[10][0]), items[10][1])


async def test_puts_of_one_id_land_in_the_order_they_were_made(
    sink_urls: dict[str, str], unique_prefix: str
) -> None:
    target = f"{unique_prefix}x"
    revisions = [workload_document("x", replicas=replicas) for replicas in range(5)]
    others = documents(unique_prefix, 10)
    async with counted_sink(sink_urls["graph-store"], batch_max=100) as (sink, sent):
        outcomes = await put_all(sink, [*((target, r) for r in revisions), *others])
        # Each revision saw the one before it: one request per revision, in order.
        assert outcomes[:5] == [PutOutcome.CREATED] + [PutOutcome.REPLACED] * 4
        assert outcomes[5:] == [PutOutcome.CREATED] * 10
        assert same_graph(await sink.get(target), revisions[-1])
        assert sent["POST /update"] + sent["PUT /store"] == 5, sent


async def test_a_store_without_the_update_endpoint_gets_puts(
    sink_urls: dict[str, str], unique_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = sink_urls["graph-store"]
    missing = store.removesuffix("/store") + "/no-update-here"  # Oxigraph: 404
    items = documents(unique_prefix, 12)
    async with counted_sink(store, batch_max=100, update_url=missing) as (sink, sent):
        with caplog.at_level(logging.INFO, logger="kg_exporter.sink"):
            assert await put_all(sink, items[:8]) == [PutOutcome.CREATED] * 8
            assert await put_all(sink, items[8:]) == [PutOutcome.CREATED] * 4
        assert sent == {"POST /query": 1, "POST /no-update-here": 1, "PUT /store": 12}, sent
        assert caplog.text.count("offers no batch writes") == 1
        assert same_graph(await sink.get(items[9][0]), items[9][1])


async def test_a_large_batch_goes_in_updates_cut_by_size(
    sink_urls: dict[str, str], unique_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(graph_store, "MAX_REQUEST_BYTES", 20_000)  # ~4 workloads' statements
    items = documents(unique_prefix, 30)
    async with counted_sink(sink_urls["graph-store"], batch_max=100) as (sink, sent):
        assert await put_all(sink, items) == [PutOutcome.CREATED] * 30
        assert sent["POST /update"] > 3 and sent["POST /query"] == sent["POST /update"], sent
        assert "PUT /store" not in sent
        assert same_graph(await sink.get(items[29][0]), items[29][1])


def test_batch_max_1_is_one_put_each_and_the_update_replaces_each_graph() -> None:
    sink = open_sink(sink_settings("graph-store", "http://127.0.0.1:1/store", batch_max=1))
    assert isinstance(sink, GraphStoreSink)
    update = replace_graphs(
        {"urn:g1": b"<urn:s> <urn:p> 1 .\n", "urn:g2": b"<urn:s> <urn:p> 2 .\n"}
    )
    assert update.decode() == (
        "DROP SILENT GRAPH <urn:g1> ;\nDROP SILENT GRAPH <urn:g2> ;\nINSERT DATA {\n"
        "GRAPH <urn:g1> {\n<urn:s> <urn:p> 1 .\n}\nGRAPH <urn:g2> {\n<urn:s> <urn:p> 2 .\n}\n}\n"
    )


async def test_hostile_values_go_into_the_update_as_data(
    sink_urls: dict[str, str], unique_prefix: str
) -> None:
    # Literals that would end the string, the graph or the update if they went in unescaped, or
    # if a store undid the N-Triples escapes before parsing (SPARQL's \u pre-pass): each is
    # read back as it was put, and a graph outside the batch is untouched.
    hostile = [
        '" } } ; DROP ALL ; INSERT DATA { GRAPH <urn:x> { <urn:a> <urn:b> "',
        "\\u0022 } } ; DROP ALL ; #",
        "\\U00000022 } ; CLEAR ALL",
        "x\b\f\x7f\u0085\u2028\t\r\n}",
        "> } GRAPH <urn:kg-exporter:subgraph:victim> { <urn:a> <urn:b> <urn:c> . ",
    ]
    items = [
        (
            f"{unique_prefix}h{index}",
            {"@id": "urn:kgx:s", "urn:kgx:label": value, "urn:kgx:n": index},
        )
        for index, value in enumerate(hostile)
    ]
    canary = (f"{unique_prefix}canary", workload_document("canary"))
    async with counted_sink(sink_urls["graph-store"], batch_max=100) as (sink, sent):
        assert await sink.put(*canary) == PutOutcome.CREATED
        assert await put_all(sink, items) == [PutOutcome.CREATED] * len(items)
        assert sent["POST /update"] == 1, sent
        for subgraph_id, document in items:
            assert same_graph(await sink.get(subgraph_id), document), subgraph_id
        assert same_graph(await sink.get(canary[0]), canary[1])
        assert sorted(await sink.list(unique_prefix)) == sorted([canary[0], *dict(items)])


def test_credentials_in_the_update_url_stay_out_of_what_is_logged() -> None:
    settings = sink_settings(
        "graph-store",
        "http://kg:s3cret@127.0.0.1:1/store",
        update_url="http://kg:s3cret@127.0.0.1:1/update",
        batch_max=1,
    )
    sink = open_sink(settings)
    assert isinstance(sink, GraphStoreSink)
    assert "s3cret" not in sink.batch_request and "127.0.0.1:1/update" in sink.batch_request


@pytest.mark.parametrize(
    "answer",
    ['{"results": {"bindings": [{"g": "urn:x"}]}}', '{"results": {"bindings": [{"g": 7}]}}'],
)
async def test_a_malformed_answer_to_the_batch_s_query_is_a_clear_sink_error(answer: str) -> None:
    async with scripted_server([Reply(200, answer)]) as server:
        sink = open_sink(sink_settings("graph-store", f"{server.url}/store", batch_max=10))
        try:
            outcomes = await put_all(sink, documents("malformed:", 2))
        finally:
            await sink.aclose()
    assert [type(outcome) for outcome in outcomes] == [SinkError, SinkError], outcomes
    assert [seen.raw_path for seen in server.seen] == ["/query"]
