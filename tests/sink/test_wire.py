"""The two wires under the sink client: aiohttp directly (the sinks' own connections) and a
caller's httpx client. Both must put the same request on the wire and read answers the same way."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from kg_exporter.identity import subgraph_graph_iri
from kg_exporter.sink import PutOutcome, open_sink
from kg_exporter.sink.backoff import Backoff
from kg_exporter.sink.http import SinkClient, make_http_client, make_wire, with_query
from kg_exporter.sink.subgraph_api import SubgraphApiSink
from kg_exporter.sink.wire import Answer
from tests.sink.conftest import sink_settings
from tests.sink.documents import workload_document
from tests.sink.scripted import Reply, Seen, scripted_server

ID = "c1:workload:pod:default:web%C3%A9~1"
# What a request says about itself, apart from who sent it (User-Agent).
COMPARED = ("Content-Type", "Authorization", "Accept", "Accept-Encoding", "Content-Length")


async def _one_put(kind: str, url: str, token: Path, *, injected: bool) -> None:
    settings = sink_settings(kind, url, batch_max=1, token_file=str(token))
    client = make_http_client(settings) if injected else None
    sink = open_sink(settings, client=client)
    try:
        assert await sink.put(ID, workload_document()) is PutOutcome.CREATED
    finally:
        await sink.aclose()
        if client is not None:
            await client.aclose()


@pytest.mark.parametrize("kind", ["subgraph", "graph-store"])
async def test_both_wires_send_the_same_request(kind: str, tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("secret-token\n")
    sent: list[Seen] = []
    for injected in (False, True):
        async with scripted_server([Reply(201)]) as server:
            url = server.url + ("/store" if kind == "graph-store" else "")
            await _one_put(kind, url, token, injected=injected)
        sent += server.seen
    own, through_httpx = sent
    assert own.method == through_httpx.method == "PUT"
    assert own.raw_path == through_httpx.raw_path
    assert own.body == through_httpx.body
    for name in COMPARED:
        assert own.headers.get(name) == through_httpx.headers.get(name), name
    assert own.headers["Authorization"] == "Bearer secret-token"
    assert own.headers["User-Agent"] == "kg-exporter"
    if kind == "graph-store":
        query = parse_qs(urlsplit(own.raw_path).query)
        assert query == {"graph": [subgraph_graph_iri(ID)]}, "the IRI decodes back exactly"
    else:
        assert own.raw_path == "/subgraph/c1:workload:pod:default:web%25C3%25A9~1"


async def test_a_base_url_is_percent_encoded_once() -> None:
    async with scripted_server([Reply(204)]) as server:
        settings = sink_settings("subgraph", server.url)
        client = SinkClient(
            make_wire(settings), backoff=Backoff(0.01, 0.01, 1), timeout_seconds=5, owns_client=True
        )
        sink = SubgraphApiSink(client, f"{server.url}/metadata service/é%20x")
        await sink.put("c1:x", workload_document())
        await sink.aclose()
    assert server.seen[0].raw_path == "/metadata%20service/%C3%A9%20x/subgraph/c1:x"


async def test_an_injected_client_is_left_open() -> None:
    async with scripted_server([Reply(204)]) as server:
        client = httpx.AsyncClient()
        sink = open_sink(sink_settings("subgraph", server.url, batch_max=1), client=client)
        await sink.put("c1:x", workload_document())
        await sink.aclose()
        assert (await client.get(server.url)).status_code == 204, "still usable"
        await client.aclose()


def test_params_are_percent_encoded_in_full() -> None:
    url = with_query("http://h/store", {"graph": "urn:x:a%20b&c=d+e f"})
    assert url == "http://h/store?graph=urn%3Ax%3Aa%2520b%26c%3Dd%2Be%20f"
    assert with_query("http://h/q?x=1", {"y": "2"}) == "http://h/q?x=1&y=2"


@pytest.mark.parametrize(
    ("content_type", "body", "text"),
    [
        (None, "é".encode(), "é"),
        ("text/plain; charset=ISO-8859-1", "é".encode("latin-1"), "é"),
        ('text/plain; charset="utf-8"', "é".encode(), "é"),
        ("text/plain; charset=no-such-charset", "é".encode(), "é"),
        ("application/json", b"\xff ok", "\ufffd ok"),
    ],
)
def test_an_answer_decodes_its_text_by_its_charset(
    content_type: str | None, body: bytes, text: str
) -> None:
    headers = httpx.Headers({"Content-Type": content_type} if content_type else {})
    assert Answer(200, headers, body, "http://h/").text == text


def test_an_answer_parses_json_or_raises_value_error() -> None:
    assert Answer(200, {}, b'{"a": [1]}', "http://h/").json() == {"a": [1]}
    with pytest.raises(ValueError):
        Answer(200, {}, b"<html>", "http://h/").json()
