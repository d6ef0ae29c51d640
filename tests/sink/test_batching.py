"""Concurrent puts through :class:`BatchingSink` go out as ``POST /subgraph`` batches to the
reference service (subprocess), each put getting its own outcome or error; a service without the
batch endpoint gets PUTs."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from kg_exporter.errors import SinkRejected, SinkUnavailable
from kg_exporter.sink import BatchingSink, PutOutcome, SubgraphApiSink, open_sink, subgraph_api
from tests.sink.conftest import sink_settings
from tests.sink.documents import same_graph, workload_document
from tests.sink.scripted import Reply, scripted_server


async def test_concurrent_puts_go_out_together_each_with_its_outcome(
    sink_urls: dict[str, str], unique_prefix: str
) -> None:
    sink = open_sink(sink_settings("subgraph", sink_urls["subgraph"], batch_max=50))
    assert isinstance(sink, BatchingSink)
    ids = [f"{unique_prefix}w{index:03d}" for index in range(120)]
    documents = {i: workload_document(i.rsplit(":", 1)[1]) for i in ids}
    bad = {"@context": {}, "@graph": [{"nothing": 1}]}

    async def put(subgraph_id: str) -> PutOutcome | Exception:
        document = bad if subgraph_id.endswith("w007") else documents[subgraph_id]
        try:
            return await sink.put(subgraph_id, document)
        except SinkRejected as exc:
            return exc

    outcomes = await asyncio.gather(*(put(i) for i in ids))
    refused = outcomes.pop(7)
    assert isinstance(refused, SinkRejected) and refused.status == 400
    assert "no triples" in str(refused)
    assert set(outcomes) == {PutOutcome.CREATED}
    again = await asyncio.gather(*(sink.put(i, documents[i]) for i in ids[:5]))
    assert set(again) == {PutOutcome.UNCHANGED}
    changed = workload_document("w001", phase="Failed")
    assert await sink.put(ids[1], changed) is PutOutcome.REPLACED
    assert same_graph(await sink.get(ids[1]), changed)
    assert len(await sink.list(unique_prefix)) == 119
    await sink.aclose()


async def test_a_batch_of_many_goes_in_requests_of_max_batch(
    sink_urls: dict[str, str], unique_prefix: str
) -> None:
    sink = open_sink(sink_settings("subgraph", sink_urls["subgraph"], batch_max=100))
    assert isinstance(sink, BatchingSink)
    items = [(f"{unique_prefix}n{index}", workload_document(f"n{index}")) for index in range(250)]
    items.insert(3, ("bad/id", workload_document("x")))
    outcomes = await sink.put_many(items)
    assert isinstance(outcomes[3], SinkRejected) and "invalid subgraph id" in str(outcomes[3])
    assert outcomes[:3] + outcomes[4:] == [PutOutcome.CREATED] * 250
    await sink.aclose()


async def test_a_service_without_batches_gets_puts() -> None:
    # 405 to the POST, then 201 to every PUT: the sink notes it once and PUTs from then on.
    async with scripted_server(
        [Reply(405, '{"error": "Method Not Allowed"}'), Reply(201)]
    ) as server:
        sink = open_sink(sink_settings("subgraph", server.url, batch_max=10))
        outcomes = await asyncio.gather(
            *(sink.put(f"c1:w{index}", workload_document(f"w{index}")) for index in range(4))
        )
        assert outcomes == [PutOutcome.CREATED] * 4
        assert await sink.put("c1:later", workload_document("later")) is PutOutcome.CREATED
        methods = [seen.method for seen in server.seen]
        assert methods == ["POST"] + ["PUT"] * 5
        await sink.aclose()


async def test_a_batch_refused_as_a_whole_goes_again_as_puts() -> None:
    # 413 to the POST (a proxy's body limit): this batch goes again as one PUT each, and the
    # service is not marked as one without batches (that is 404, 405 or 415).
    async with scripted_server([Reply(413, '{"error": "too large"}'), Reply(201)]) as server:
        sink = open_sink(sink_settings("subgraph", server.url, batch_max=10))
        assert isinstance(sink, BatchingSink)
        outcomes = await asyncio.gather(
            *(sink.put(f"c1:w{index}", workload_document(f"w{index}")) for index in range(3))
        )
        assert outcomes == [PutOutcome.CREATED] * 3
        assert [seen.method for seen in server.seen] == ["POST"] + ["PUT"] * 3
        assert sink._batches
        await sink.aclose()


async def test_an_unreachable_service_fails_every_put_of_the_batch() -> None:
    async with scripted_server([Reply(503, '{"error": "busy"}')]) as server:
        sink = open_sink(sink_settings("subgraph", server.url, batch_max=10, max_attempts=2))
        results = await asyncio.gather(
            *(sink.put(f"c1:w{index}", workload_document("w")) for index in range(3)),
            return_exceptions=True,
        )
        assert all(isinstance(result, SinkUnavailable) for result in results)
        assert [seen.method for seen in server.seen] == ["POST", "POST"]
        sent = server.seen[0]
        assert sent.headers["Content-Type"] == "application/x-ndjson"
        lines = [json.loads(line) for line in sent.body.splitlines()]
        assert [line["id"] for line in lines] == ["c1:w0", "c1:w1", "c1:w2"]
        await sink.aclose()


def test_batch_sizes_are_checked() -> None:
    inner = SubgraphApiSink.__new__(SubgraphApiSink)
    with pytest.raises(ValueError, match="at least 1"):
        BatchingSink(inner, max_batch=0)


@contextlib.asynccontextmanager
async def batch_server(
    hold_first: bool = False,
) -> AsyncIterator[tuple[str, list[list[str]], list[str], asyncio.Event]]:
    """A batch endpoint that answers 201 per line and records each request's ids, and any id
    that arrived while a request holding it was still unanswered. With ``hold_first`` the first
    request is held until a second one arrives, so writes sent side by side overlap for sure (at
    most 60 s: long enough for a loaded machine, where a shorter cap answered the first request
    before the second was sent and let the test's writes go out together). The event is set once
    a request has arrived."""
    requests: list[list[str]] = []
    overlaps: list[str] = []
    unanswered: set[str] = set()
    second = asyncio.Event()
    arrived = asyncio.Event()

    async def handle(request: web.Request) -> web.Response:
        ids = [json.loads(line)["id"] for line in (await request.read()).splitlines()]
        requests.append(ids)
        arrived.set()
        overlaps.extend(i for i in ids if i in unanswered)
        unanswered.update(ids)
        if hold_first and len(requests) == 1:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(second.wait(), 60.0)
        else:
            second.set()
        unanswered.difference_update(ids)
        return web.json_response({"results": [{"id": i, "status": 201} for i in ids]})

    app = web.Application()
    app.router.add_post("/subgraph", handle)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        yield f"http://127.0.0.1:{server.port}", requests, overlaps, arrived
    finally:
        await server.close()


async def test_a_lone_put_goes_out_at_once_alone_and_one_turns_puts_together() -> None:
    async with batch_server() as (url, requests, _, _):
        sink = open_sink(sink_settings("subgraph", url, batch_max=10))
        assert await sink.put("c1:alone", workload_document("alone")) is PutOutcome.CREATED
        # Both subgraphs of one key are put in one event-loop turn: one request.
        pair = await asyncio.gather(
            sink.put("c1:w", workload_document("w")), sink.put("c1:t", workload_document("t"))
        )
        assert pair == [PutOutcome.CREATED] * 2
        assert requests == [["c1:alone"], ["c1:w", "c1:t"]]
        await sink.aclose()


async def test_puts_of_one_id_go_out_in_order_never_two_at_once() -> None:
    async with batch_server(hold_first=True) as (url, requests, overlaps, arrived):
        sink = open_sink(sink_settings("subgraph", url, batch_max=10))
        first = asyncio.create_task(sink.put("c1:x", workload_document("first")))
        # Its request reached the server (which holds it): awaited, since on a loaded machine a
        # fixed pause can end before the request is sent, and then x's second write and y race it.
        await asyncio.wait_for(arrived.wait(), 60)
        assert requests == [["c1:x"]]
        later = await asyncio.gather(
            sink.put("c1:x", workload_document("second")), sink.put("c1:y", workload_document("y"))
        )
        assert await first is PutOutcome.CREATED and later == [PutOutcome.CREATED] * 2
        # y went out beside the first request; x's second write only once the first was answered.
        assert requests == [["c1:x"], ["c1:y"], ["c1:x"]], requests
        assert overlaps == []
        await sink.aclose()


async def test_n_triples_batches_split_by_size_and_read_back_as_json_ld(
    sink_urls: dict[str, str], unique_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What backfill sends: each subgraph's statements as N-Triples, requests cut by size.
    monkeypatch.setattr(subgraph_api, "MAX_REQUEST_BYTES", 40_000)
    sink = open_sink(
        sink_settings("subgraph", sink_urls["subgraph"], batch_max=100), ntriples_batches=True
    )
    assert isinstance(sink, BatchingSink)
    documents = {f"{unique_prefix}t{index}": workload_document(f"t{index}") for index in range(30)}
    named = {"@id": "urn:g", "@graph": [{"@id": "urn:s", "urn:p": "o"}]}  # sent as JSON-LD
    items = [*documents.items(), (f"{unique_prefix}named", named)]
    posted: list[int] = []
    post = subgraph_api.SubgraphApiSink._post

    async def counted(self: SubgraphApiSink, lines: list[bytes], *args: object) -> None:
        posted.append(len(lines))
        assert all(b'"ntriples"' in line for line in lines[:-1] if b"named" not in line)
        await post(self, lines, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(subgraph_api.SubgraphApiSink, "_post", counted)
    outcomes = await sink.put_many(items)
    assert outcomes[:-1] == [PutOutcome.CREATED] * 30
    assert isinstance(outcomes[-1], SinkRejected) and "named graphs not allowed" in str(
        outcomes[-1]
    )
    assert len(posted) > 1 and sum(posted) == 31
    for subgraph_id in list(documents)[::7]:
        assert same_graph(await sink.get(subgraph_id), documents[subgraph_id])
    assert set(await sink.put_many(list(documents.items())[:3])) == {PutOutcome.UNCHANGED}
    await sink.aclose()
