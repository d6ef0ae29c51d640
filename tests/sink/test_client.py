"""Retries, Retry-After, refusals, tokens, TLS and garbage answers: the one client under every
sink, against tiny real servers answering from a script. Sleeps are recorded, never waited."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import ssl
import subprocess
from collections.abc import Callable
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest

from kg_exporter.errors import SettingsError, SinkError, SinkRejected, SinkUnavailable
from kg_exporter.sink import PutOutcome, Sink, open_sink
from kg_exporter.sink.backoff import Backoff
from kg_exporter.sink.http import SinkClient, make_http_client, make_wire
from kg_exporter.sink.subgraph_api import SubgraphApiSink
from kg_exporter.sink.wire import HttpxWire
from tests.sink.conftest import sink_settings
from tests.sink.documents import workload_document
from tests.sink.scripted import Reply, scripted_server
from tests.support.processes import free_port

NOW = 1_700_000_000.0
ID = "test:workload:deployment:default:web"


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def make_sink(
    kind: str,
    url: str,
    sleeps: Sleeps,
    *,
    rng: Callable[[], float] = lambda: 0.5,
    **settings: Any,
) -> Sink:
    defaults: dict[str, Any] = {
        "batch_max": 1,  # the PUT path; tests/sink/test_batching.py covers batches
        "max_attempts": 6,
        "backoff_initial_seconds": 0.2,
        "backoff_max_seconds": 30.0,
    }
    return open_sink(
        sink_settings(kind, url, **{**defaults, **settings}),
        sleep=sleeps,
        rng=rng,
        clock=lambda: NOW,
    )


async def test_a_204_marked_unchanged_is_reported_so() -> None:
    async with scripted_server([Reply(204, headers={"Subgraph-Unchanged": "true"})]) as server:
        sink = make_sink("subgraph", server.url, Sleeps())
        assert await sink.put(ID, workload_document()) is PutOutcome.UNCHANGED
        await sink.aclose()


async def test_503_and_429_are_retried_after_what_retry_after_says(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sleeps = Sleeps()
    replies = [
        Reply(503, '{"error": "busy"}', {"Retry-After": "2"}),
        Reply(429, "slow down", {"Retry-After": formatdate(NOW + 5, usegmt=True)}),
        Reply(204),
    ]
    caplog.set_level(logging.WARNING, logger="kg_exporter.sink")
    async with scripted_server(replies) as server:
        sink = make_sink("subgraph", server.url, sleeps)
        assert await sink.put(ID, workload_document()) is PutOutcome.REPLACED
        await sink.aclose()
    assert sleeps.delays == [2.0, 5.0]
    assert [seen.method for seen in server.seen] == ["PUT"] * 3
    assert f"PUT {ID} failed: 503; will retry in 2.0 s (attempt 2/6)" in caplog.messages
    assert f"PUT {ID} failed: 429; will retry in 5.0 s (attempt 3/6)" in caplog.messages


async def test_without_retry_after_the_backoff_is_full_jitter_capped() -> None:
    sleeps = Sleeps()
    async with scripted_server([Reply(500)] * 5 + [Reply(201)]) as server:
        sink = make_sink("subgraph", server.url, sleeps, rng=lambda: 0.5, backoff_max_seconds=1.0)
        assert await sink.put(ID, workload_document()) is PutOutcome.CREATED
        await sink.aclose()
    # half of min(1.0, 0.2 * 2**(n-1)) for n = 1..5
    assert sleeps.delays == pytest.approx([0.1, 0.2, 0.4, 0.5, 0.5])


async def test_408_and_every_5xx_are_retried_and_retry_after_is_capped() -> None:
    sleeps = Sleeps()
    replies = [Reply(408), Reply(502, headers={"Retry-After": "3600"}), Reply(504), Reply(200)]
    async with scripted_server(replies) as server:
        sink = make_sink("subgraph", server.url, sleeps, backoff_max_seconds=7.0)
        await sink.put(ID, workload_document())
        await sink.aclose()
    assert sleeps.delays[1] == 7.0
    assert len(server.seen) == 4


async def test_exhausted_retries_raise_sink_unavailable(caplog: pytest.LogCaptureFixture) -> None:
    sleeps = Sleeps()
    async with scripted_server([Reply(503, '{"error": "down"}')]) as server:
        sink = make_sink("subgraph", server.url, sleeps, max_attempts=3)
        with pytest.raises(SinkUnavailable, match=r"failed after 3 attempts: 503"):
            await sink.put(ID, workload_document())
        await sink.aclose()
    assert len(server.seen) == 3 and len(sleeps.delays) == 2
    assert any("giving up after 3 attempts" in message for message in caplog.messages)


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(400, '{"error": "body is not JSON-LD", "detail": "line 1"}'), "body is not JSON-LD"),
        (Reply(401, '{"detail": "Not authenticated"}'), "Not authenticated"),
        (Reply(413, "too big", content_type="text/plain"), "too big"),
        (Reply(422, '{"detail": [{"msg": "Input should be a valid dictionary"}]}'), "dictionary"),
        (Reply(400, "[" * 100_000), "[[["),  # too deep for Python's parser: shown as text
    ],
)
async def test_other_4xx_are_rejected_at_once_with_the_server_message(
    reply: Reply, message: str
) -> None:
    sleeps = Sleeps()
    async with scripted_server([reply, Reply(204)]) as server:
        sink = make_sink("subgraph", server.url, sleeps)
        with pytest.raises(SinkRejected) as caught:
            await sink.put(ID, workload_document())
        await sink.aclose()
    assert caught.value.status == reply.status
    assert message in caught.value.message
    assert len(server.seen) == 1 and sleeps.delays == []


async def test_connection_refused_is_retried_then_unavailable(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sleeps = Sleeps()
    sink = make_sink("subgraph", f"http://127.0.0.1:{free_port()}", sleeps, max_attempts=4)
    with pytest.raises(SinkUnavailable, match="failed after 4 attempts: ConnectError"):
        await sink.put(ID, workload_document())
    await sink.aclose()
    assert sleeps.delays == pytest.approx([0.1, 0.2, 0.4])
    assert any("will retry in 0.1 s (attempt 2/4)" in message for message in caplog.messages)


async def test_a_slow_server_times_out_and_is_retried() -> None:
    sleeps = Sleeps()
    async with scripted_server([Reply(204, delay=2.0)]) as server:
        sink = make_sink("subgraph", server.url, sleeps, max_attempts=2, timeout_seconds=0.2)
        with pytest.raises(SinkUnavailable, match="ReadTimeout"):
            await sink.put(ID, workload_document())
        await sink.aclose()
    assert len(sleeps.delays) == 1


@pytest.mark.parametrize("injected", [False, True], ids=["own-wire", "httpx-client"])
async def test_waiting_for_a_free_connection_is_not_a_timeout(injected: bool) -> None:
    """More requests than connections: the last one waits ~2.1 s for the connection, longer than
    the 2 s timeout, and still lands (only the wait for the server counts), through the sinks'
    own aiohttp wire and through an httpx client made by make_http_client."""
    async with scripted_server([Reply(201, delay=0.3)]) as server:
        settings = sink_settings(
            "subgraph", server.url, max_attempts=1, timeout_seconds=2.0, batch_max=1
        )
        client = make_http_client(settings, max_connections=1) if injected else None
        wire = HttpxWire(client) if client is not None else make_wire(settings, max_connections=1)
        sink = SubgraphApiSink(
            SinkClient(wire, backoff=Backoff.from_settings(settings), timeout_seconds=2.0),
            server.url,
        )
        ids = [f"{ID}-{index}" for index in range(8)]
        try:
            outcomes = await asyncio.gather(*(sink.put(id_, workload_document()) for id_ in ids))
        finally:
            await wire.aclose()
    assert outcomes == [PutOutcome.CREATED] * 8
    assert len(server.seen) == 8


async def test_a_rotated_token_is_sent_and_no_token_is_ever_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    token = tmp_path / "token"
    token.write_text("first-token\n")
    sleeps = Sleeps()
    caplog.set_level(logging.DEBUG)
    async with scripted_server([Reply(503), Reply(204)]) as server:
        sink = make_sink("subgraph", server.url, sleeps, token_file=str(token))
        await sink.put(ID, workload_document())
        token.write_text("second-token-rotated\n")
        await sink.put(ID, workload_document())
        await sink.aclose()
    sent = [seen.headers.get("Authorization") for seen in server.seen]
    assert sent == ["Bearer first-token", "Bearer first-token", "Bearer second-token-rotated"]
    assert "first-token" not in caplog.text and "second-token" not in caplog.text


async def test_a_secret_volume_rotation_is_noticed(tmp_path: Path) -> None:
    """kubelet rotates a mounted Secret by swapping a symlink to a new directory: same size and
    possibly the same mtime, but a new inode, which the token check notices."""
    first, second = tmp_path / "..2024_01", tmp_path / "..2024_02"
    first.mkdir()
    second.mkdir()
    (first / "token").write_text("tokenA")
    (second / "token").write_text("tokenB")
    stat = (first / "token").stat()
    os.utime(second / "token", ns=(stat.st_atime_ns, stat.st_mtime_ns))
    (tmp_path / "..data").symlink_to(first.name)
    token = tmp_path / "token"
    token.symlink_to("..data/token")
    async with scripted_server([Reply(204)]) as server:
        sink = make_sink("subgraph", server.url, Sleeps(), token_file=str(token))
        await sink.put(ID, workload_document())
        (tmp_path / "..data_tmp").symlink_to(second.name)
        os.replace(tmp_path / "..data_tmp", tmp_path / "..data")
        await sink.put(ID, workload_document())
        await sink.aclose()
    sent = [seen.headers["Authorization"] for seen in server.seen]
    assert sent == ["Bearer tokenA", "Bearer tokenB"]


def test_an_empty_or_missing_token_file_is_a_settings_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("  \n")
    for path in (empty, tmp_path / "missing"):
        with pytest.raises(SettingsError, match="token file"):
            open_sink(sink_settings("subgraph", "http://127.0.0.1:1", token_file=str(path)))


@pytest.mark.parametrize(
    ("kind", "reply", "call"),
    [
        ("subgraph", Reply(200, "<html>proxy</html>", content_type="text/html"), "get"),
        ("subgraph", Reply(200, "[1, 2]"), "get"),
        ("subgraph", Reply(200, "{not json"), "list"),
        ("subgraph", Reply(200, "[" * 100_000), "list"),  # Python's parser recurses per level
        ("subgraph", Reply(200, '{"ids": []}'), "list"),
        ("graph-store", Reply(200, "this is not n-triples", content_type="text/plain"), "get"),
        ("graph-store", Reply(200, '{"head": {}}'), "list"),
        (  # triple terms nested 100,000 deep overflowed pyoxigraph's parser: SIGSEGV
            "graph-store",
            Reply(200, "<s> <p> " + "<<( <s> <p> " * 100_000 + "<o>" + " )>>" * 100_000 + " .\n"),
            "get",
        ),
        ("glaciation", Reply(200, '"Success"'), "get"),
        ("glaciation", Reply(200, "<html/>", content_type="text/html"), "list"),
        ("glaciation", Reply(200, '{"results": {"bindings": [{"g": {"type": "?"}}]}}'), "list"),
    ],
)
async def test_garbage_answers_are_a_clear_sink_error(kind: str, reply: Reply, call: str) -> None:
    async with scripted_server([reply]) as server:
        sink = make_sink(kind, server.url + ("/store" if kind == "graph-store" else ""), Sleeps())
        with pytest.raises(SinkError) as caught:
            if call == "get":
                await sink.get(ID)
            else:
                await sink.list("test:")
        await sink.aclose()
    assert not isinstance(caught.value, SinkRejected | SinkUnavailable)


async def test_ids_are_sent_so_that_the_server_decodes_them_back(tmp_path: Path) -> None:
    async with scripted_server([Reply(204)]) as server:
        sink = make_sink("subgraph", server.url, Sleeps())
        await sink.put("c1:workload:pod:default:web%C3%A9~1", workload_document())
        await sink.delete("c1:x")
        await sink.aclose()
    assert server.seen[0].raw_path == "/subgraph/c1:workload:pod:default:web%25C3%25A9~1"
    assert server.seen[0].headers["Content-Type"] == "application/ld+json"
    assert server.seen[1].method == "DELETE"


# -- TLS ------------------------------------------------------------------------------------------


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_a_custom_ca_bundle_is_trusted(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    async with scripted_server([Reply(201)], ssl_context=server_context) as server:
        trusting = make_sink("subgraph", server.url, Sleeps(), ca_bundle=str(cert))
        assert await trusting.put(ID, workload_document()) is PutOutcome.CREATED
        await trusting.aclose()
        distrusting = make_sink("subgraph", server.url, Sleeps(), max_attempts=1)
        with pytest.raises(SinkUnavailable, match="certificate"):
            await distrusting.put(ID, workload_document())
        await distrusting.aclose()


def test_an_unreadable_ca_bundle_is_a_settings_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="ca_bundle"):
        open_sink(
            sink_settings("subgraph", "https://127.0.0.1:1", ca_bundle=str(tmp_path / "none.pem"))
        )
