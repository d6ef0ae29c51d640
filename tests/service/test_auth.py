"""With a token configured, the reference Metadata Service refuses every unauthenticated write and
read: each route and method of the API, without a token and with a wrong one, is a 401 that says
nothing about what is stored and changes nothing (the full store dump is compared)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx
import pytest

from tests.service.conftest import TOKEN, Running
from tests.sink.documents import workload_document

STORED = "c1:workload:deployment:default:secretive-web"
NEW = "c1:workload:deployment:default:newcomer"
LD = "application/ld+json"
QUERY = "SELECT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }"


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: bytes = b""
    content_type: str | None = None
    params: tuple[tuple[str, str], ...] = ()


def document(name: str) -> bytes:
    return json.dumps(workload_document(name)).encode()


CALLS = {
    "PUT replace": Call("PUT", f"/subgraph/{STORED}", document("replaced"), LD),
    "PUT create": Call("PUT", f"/subgraph/{NEW}", document("newcomer"), LD),
    "POST create": Call("POST", f"/subgraph/{NEW}", document("newcomer"), LD),
    "GET one": Call("GET", f"/subgraph/{STORED}"),
    "GET missing": Call("GET", f"/subgraph/{NEW}"),
    "DELETE": Call("DELETE", f"/subgraph/{STORED}"),
    "list by prefix": Call("GET", "/subgraph", params=(("prefix", "c1:"),)),
    "list all": Call("GET", "/subgraph"),
    "GET /sparql": Call("GET", "/sparql", params=(("query", QUERY),)),
    "POST /sparql query": Call("POST", "/sparql", QUERY.encode(), "application/sparql-query"),
    "POST /sparql form": Call(
        "POST",
        "/sparql",
        f"query={QUERY}".encode(),
        "application/x-www-form-urlencoded",
    ),
}

CREDENTIALS = {
    "no token": None,
    "wrong token": "Bearer not-the-token",
    "token prefix": f"Bearer {TOKEN[:-1]}",
    "token and more": f"Bearer {TOKEN}x",
    "token as Basic": f"Basic {TOKEN}",
    "scheme only": "Bearer",
}


@pytest.mark.parametrize("credentials", list(CREDENTIALS))
@pytest.mark.parametrize("call", list(CALLS))
async def test_every_unauthenticated_request_is_refused_and_changes_nothing(
    guarded_in_memory: Running, call: str, credentials: str
) -> None:
    created = await guarded_in_memory.client.put(
        f"/subgraph/{STORED}", content=document("secretive-web"), headers={"Content-Type": LD}
    )
    assert created.status_code == 201
    before = guarded_in_memory.store.dump()

    request = CALLS[call]
    authorization = CREDENTIALS[credentials]
    headers = {"Authorization": authorization} if authorization else {}
    if request.content_type:
        headers["Content-Type"] = request.content_type
    async with httpx.AsyncClient(base_url=guarded_in_memory.url, timeout=10) as anonymous:
        response = await anonymous.request(
            request.method,
            request.path,
            params=dict(request.params),
            content=request.body or None,
            headers=headers,
        )

    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"] == "unauthorized"
    assert "secretive" not in response.text, "a refused request learns nothing stored"
    assert guarded_in_memory.store.dump() == before
    assert guarded_in_memory.store.count() == 1


async def test_the_same_requests_with_the_token_succeed(guarded_in_memory: Running) -> None:
    """The control: each call above is answered (not 401) when the token is right."""
    await guarded_in_memory.client.put(
        f"/subgraph/{STORED}", content=document("secretive-web"), headers={"Content-Type": LD}
    )
    for name, request in CALLS.items():
        headers = {"Content-Type": request.content_type} if request.content_type else {}
        response = await guarded_in_memory.client.request(
            request.method,
            request.path,
            params=dict(request.params),
            content=request.body or None,
            headers=headers,
        )
        assert response.status_code != 401, name
        assert response.status_code < 500, (name, response.text)
