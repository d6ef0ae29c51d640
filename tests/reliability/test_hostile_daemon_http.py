"""Issue 17, the daemon's own HTTP endpoints (/healthz, /readyz, /metrics) under hostile
requests: each gets a clear answer or a closed connection in time, probes stay answered, and
memory does not grow. The real aiohttp server on a socket, in this process."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client import CollectorRegistry

from kg_exporter.runtime.health import Health
from kg_exporter.runtime.server import HealthServer, create_app

HEADER_SECONDS = 1.0


@pytest.fixture
async def server() -> AsyncIterator[str]:
    health = Health(time.monotonic)
    running = HealthServer(
        create_app(health, CollectorRegistry()), "127.0.0.1:0", header_seconds=HEADER_SECONDS
    )
    url = await running.start()
    try:
        yield url
    finally:
        await running.stop()


def _exchange(
    url: str, request: bytes, *, trickle: int = 0, quiet: float = 0.5
) -> tuple[bytes, float]:
    """Send ``request``, then ``trickle`` more header bytes, one per 0.1 s; what came back
    before the connection closed (or went ``quiet`` after an answer), and when."""
    host, port = url.removeprefix("http://").split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        try:
            conn.sendall(request)
            for _ in range(trickle):
                time.sleep(0.1)
                conn.sendall(b"a")
        except OSError:
            pass  # closed on us mid-send: what we wanted to see
        received = b""
        while chunk := _recv(conn):
            received += chunk
            conn.settimeout(quiet)  # the answer is in: do not wait out a lingering close
        finished = time.monotonic() - started
    return received, finished


def _recv(conn: socket.socket) -> bytes:
    try:
        return conn.recv(65536)
    except OSError:  # closed, reset, or quiet after the answer
        return b""


CASES = {
    "a 20 KB header": (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n", b"4"),
    "200 headers": (b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(200)) + b"\r\n", b"4"),
    "a 10 MB body announced to /metrics": (b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n" + b"x" * 1000, b"405"),
    "an unknown path": (b"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", b"404"),
    "not HTTP at all": (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)) + b"\r\n\r\n", b"400"),
    "a request line of 100 KB": (b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", b"4"),
}  # fmt: skip


@pytest.mark.parametrize("case", CASES)
async def test_a_hostile_request_gets_a_clear_answer(
    server: str, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    request, expected = CASES[case]
    with caplog.at_level(logging.INFO):
        answer, took = await asyncio.to_thread(_exchange, server, request)
    # One line for the log at most, never an ERROR with a traceback that anyone can repeat.
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    assert answer.startswith(b"HTTP/1."), answer[:200]
    assert answer[9:].startswith(expected), answer[:200]  # the status code
    assert took < 5, took
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"{server}/healthz", timeout=1)).status_code == 200


async def test_trickled_headers_are_cut_off_while_probes_are_answered(server: str) -> None:
    slow = [
        asyncio.to_thread(_exchange, server, b"GET /healthz HTTP/1.1\r\nX: ", trickle=100)
        for _ in range(5)
    ]
    tasks = [asyncio.ensure_future(one) for one in slow]
    async with httpx.AsyncClient() as client:
        for _ in range(10):
            started = time.monotonic()
            assert (await client.get(f"{server}/healthz", timeout=1)).status_code == 200
            assert time.monotonic() - started < 1
            await asyncio.sleep(0.1)
    results = await asyncio.gather(*tasks)
    for answer, took in results:
        assert b"200 OK" not in answer
        assert took < 5, took  # closed after HEADER_SECONDS, not after the 10 s of trickling


def _rss_mib() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


async def test_hostile_requests_do_not_grow_memory(server: str) -> None:
    big_header = CASES["a 20 KB header"][0]
    body = CASES["a 10 MB body announced to /metrics"][0]

    def burst(count: int) -> None:
        for _ in range(count):
            _exchange(server, big_header, quiet=0.01)
            _exchange(server, body, quiet=0.01)

    await asyncio.to_thread(burst, 50)
    before = _rss_mib()
    await asyncio.to_thread(burst, 300)
    assert _rss_mib() - before < 10
