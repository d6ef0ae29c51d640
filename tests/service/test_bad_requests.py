"""Every kind of bad request gets its documented 4xx with a JSON error body, and changes nothing
(the full store dump is compared before and after)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest

from kg_exporter.resources import context
from tests.service.conftest import TOKEN, Running
from tests.sink.documents import workload_document

EXISTING = "/subgraph/c1:workload:deployment:default:web"
LD = "application/ld+json"
TEN_MB = 10 * 1024 * 1024


@dataclass(frozen=True)
class Bad:
    name: str
    status: int
    error: str
    body: bytes = b""
    path: str = EXISTING
    method: str = "PUT"
    content_type: str | None = LD
    token: str | None = TOKEN
    chunked: bool = False
    extra: dict[str, str] = field(default_factory=dict)


def doc(value: object) -> bytes:
    return json.dumps(value).encode()


GOOD = doc(workload_document("replacement"))
NODE = {"@id": "https://e.org/a", "https://e.org/p": "v"}

CASES = [
    Bad("not JSON", 400, "body is not JSON", b"{not json"),
    Bad("not UTF-8", 400, "body is not JSON", b'{"a": "\xff"}'),
    Bad("JSON array", 400, "body is not a JSON object", doc([NODE])),
    Bad("JSON string", 400, "body is not a JSON object", doc("text")),
    Bad("empty body", 400, "body is not JSON", b""),
    Bad("JSON, not JSON-LD", 400, "body is not JSON-LD", doc({"@context": 5, **NODE})),
    Bad("bad @type", 400, "body is not JSON-LD", doc({"@id": "https://e.org/a", "@type": 5})),
    Bad("zero triples", 400, "no triples", doc({"name": "web", "replicas": 3})),
    Bad("relative IRIs only", 400, "no triples", doc({"@id": "web", "status": {"@id": "x"}})),
    Bad(
        "remote @context",
        400,
        "remote @context not allowed",
        doc({"@context": "https://schema.org/", **NODE}),
    ),
    Bad(
        "remote @context in a list",
        400,
        "remote @context not allowed",
        doc({"@context": [context(), "https://evil.example/ctx.jsonld"], **NODE}),
    ),
    Bad(
        "@import",
        400,
        "remote @context not allowed",
        doc({"@context": {"@version": 1.1, "@import": "https://evil.example/c"}, **NODE}),
    ),
    Bad(
        "scoped remote context",
        400,
        "remote @context not allowed",
        doc(
            {
                "@context": {"p": {"@id": "https://e.org/p", "@context": "https://evil.example/c"}},
                "@id": "https://e.org/a",
                "p": {"@id": "https://e.org/b", "https://e.org/q": 1},
            }
        ),
    ),
    Bad(
        "named graph",
        400,
        "named graphs not allowed",
        doc({"@context": context(), "@id": "https://e.org/g", "@graph": [NODE]}),
    ),
    Bad("10 MB body", 413, "body too large", b"{" + b" " * TEN_MB + b"}"),
    Bad("10 MB chunked body", 413, "body too large", b" " * TEN_MB, chunked=True),
    Bad(
        "text/turtle", 415, "unsupported content type", b"<a> <b> <c> .", content_type="text/turtle"
    ),
    Bad("no content type", 415, "unsupported content type", GOOD, content_type=None),
    Bad("missing token", 401, "unauthorized", GOOD, token=None),
    Bad("wrong token", 401, "unauthorized", GOOD, token="s3cret-tokem"),
    Bad("token prefix", 401, "unauthorized", GOOD, token=TOKEN[:-1]),
    Bad(
        "Basic auth",
        401,
        "unauthorized",
        GOOD,
        token=None,
        extra={"Authorization": f"Basic {TOKEN}"},
    ),
    Bad("GET without token", 401, "unauthorized", method="GET", token=None),
    Bad(
        "SPARQL without token",
        401,
        "unauthorized",
        path="/sparql?query=ASK%7B%7D",
        method="GET",
        token=None,
    ),
    Bad("list without token", 401, "unauthorized", path="/subgraph", method="GET", token=None),
    Bad("id with %2F", 400, "invalid subgraph id", GOOD, path="/subgraph/a%2Fb"),
    Bad("id with /", 400, "invalid subgraph id", GOOD, path="/subgraph/a/b"),
    Bad("id ..", 400, "invalid subgraph id", GOOD, path="/subgraph/.."),
    Bad("id %2E%2E", 400, "invalid subgraph id", GOOD, path="/subgraph/%2E%2E"),
    Bad("id .", 400, "invalid subgraph id", GOOD, path="/subgraph/%2E"),
    Bad("Unicode id", 400, "invalid subgraph id", GOOD, path="/subgraph/w%C3%A9b"),
    Bad("not UTF-8 id", 400, "invalid subgraph id", GOOD, path="/subgraph/w%FFb"),
    Bad("id with a space", 400, "invalid subgraph id", GOOD, path="/subgraph/a%20b"),
    Bad("empty id", 400, "invalid subgraph id", GOOD, path="/subgraph/"),
    Bad("1025-character id", 400, "invalid subgraph id", GOOD, path="/subgraph/" + "x" * 1025),
    Bad("GET bad id", 400, "invalid subgraph id", method="GET", path="/subgraph/a%2Fb"),
    Bad("DELETE bad id", 400, "invalid subgraph id", method="DELETE", path="/subgraph/%2E%2E"),
    Bad("POST existing id", 409, "subgraph exists", GOOD, method="POST"),
]


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), 1 << 16):
        yield data[start : start + 1 << 16]


async def send_raw(url: str, request: Bad) -> tuple[int, dict[str, object]]:
    """Send exactly ``request.path`` (no client normalises ``..`` away) over a plain socket."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    headers = [f"Host: {parts.netloc}", "Connection: close", f"Content-Length: {len(request.body)}"]
    if request.content_type:
        headers.append(f"Content-Type: {request.content_type}")
    if request.token:
        headers.append(f"Authorization: Bearer {request.token}")
    head = f"{request.method} {request.path} HTTP/1.1\r\n" + "\r\n".join(headers) + "\r\n\r\n"
    writer.write(head.encode() + request.body)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), json.loads(rest.partition(b"\r\n\r\n")[2])


@pytest.mark.parametrize("bad", CASES, ids=[case.name for case in CASES])
async def test_bad_request_is_refused_and_changes_nothing(guarded: Running, bad: Bad) -> None:
    ok = await guarded.client.put(
        EXISTING, content=doc(workload_document()), headers={"Content-Type": LD}
    )
    assert ok.status_code == 201
    before = guarded.store.dump()

    if ".." in bad.path or bad.path.endswith("/%2E"):
        status, answer = await send_raw(guarded.url, bad)
    else:
        headers = dict(bad.extra)
        if bad.content_type:
            headers["Content-Type"] = bad.content_type
        if bad.token is not None:
            headers["Authorization"] = f"Bearer {bad.token}"
        elif "Authorization" not in headers:
            headers["Authorization"] = ""
        content = _chunks(bad.body) if bad.chunked else (bad.body or None)
        response = await guarded.client.request(
            bad.method, bad.path, content=content, headers=headers
        )
        status, answer = response.status_code, response.json()
        if status == 401:
            assert response.headers["WWW-Authenticate"].startswith("Bearer")

    assert (status, answer["error"]) == (bad.status, bad.error), answer
    assert set(answer) == {"error", "detail"}
    assert guarded.store.dump() == before
    assert guarded.store.count() == 1


async def test_a_rotated_token_replaces_the_old_one(guarded: Running, token_path: object) -> None:
    from pathlib import Path

    assert isinstance(token_path, Path)
    token_path.write_text("rotated-token-value\n")
    old = await guarded.client.get("/subgraph")
    assert old.status_code == 401
    new = await guarded.client.get(
        "/subgraph", headers={"Authorization": "Bearer rotated-token-value"}
    )
    assert new.status_code == 200


async def test_health_and_metrics_need_no_token(guarded: Running) -> None:
    for path in ("/healthz", "/metrics"):
        assert (await guarded.client.get(path, headers={"Authorization": ""})).status_code == 200


async def test_an_oversized_body_is_refused_before_it_is_sent(guarded: Running) -> None:
    """The declared length alone is refused: the server answers without waiting for 10 MB."""
    parts = urlsplit(guarded.url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    writer.write(
        f"PUT {EXISTING} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: {LD}\r\n"
        f"Authorization: Bearer {TOKEN}\r\nContent-Length: {TEN_MB}\r\n\r\n{{".encode()
    )
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), timeout=5)
    writer.close()
    assert status_line.split()[1] == b"413"
