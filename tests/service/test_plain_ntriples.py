"""The service's own check of plain N-Triples (``plain_ntriples``) says exactly what the full
check in a worker (``checked_ntriples``) says: the same canonical statements, or the same refusal;
and a body it leaves to the workers gets there (through a real service)."""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson
import pytest
from aiohttp.test_utils import TestServer

from kg_exporter.ntriples import from_json_ld
from kg_exporter.resources import context
from kg_exporter.service import SubgraphStore, create_app
from kg_exporter.service.limits import Limits
from kg_exporter.service.validation import BadRequest, checked_ntriples, plain_ntriples
from kg_exporter.sink.jsonld import Compactor
from tests.service.test_batch import NDJSON, lines, nt_entry
from tests.sink.documents import workload_document

LIMITS = Limits(max_triples=50)
READABLE = Compactor(context())

BODIES = {
    "rendered": (from_json_ld(orjson.dumps(workload_document("a"))) or b"").decode(),
    "other spellings": (
        '<urn:a>\t<urn:b>   "1.50"^^<http://www.w3.org/2001/XMLSchema#decimal>.\n'
        "# a comment\n\n"
        '<urn:a> <urn:b> "caf\\u00E9" . # trailing\n'
        "<urn:a> <urn:b> <urn:\\u0063> .\r\n"
        '<urn:a> <urn:b> "x"@EN .'
    ),
    "syntax": "<urn:a> <urn:b> .\n",
    "relative": "<a> <urn:b> <urn:c> .\n",
    "graph name": "<urn:a> <urn:b> <urn:c> <urn:g> .\n",
    "two on a line": "<urn:a> <urn:b> <urn:c> . <urn:a> <urn:b> <urn:d> .\n",
    "empty": "# nothing\n",
    "unreadable": "<urn:a> <urn:b> <kgx:thing> .\n",
    "unreadable when unescaped": "<urn:a> <urn:b> <\\u006Bgx:thing> .\n",
    "just under the limit": "".join(f"<urn:a> <urn:b> <urn:c{i}> .\n" for i in range(49)),
}


def outcome(check: object, body: bytes) -> object:
    try:
        return check(body, LIMITS, READABLE)  # type: ignore[operator]
    except BadRequest as exc:
        return (exc.status, exc.error)


@pytest.mark.parametrize("name", sorted(BODIES))
def test_plain_says_what_the_full_check_says(name: str) -> None:
    body = BODIES[name].encode()
    plain = outcome(plain_ntriples, body)
    assert plain is not None, "a plain body is decided without a worker"
    assert plain == outcome(checked_ntriples, body)


@pytest.mark.parametrize(
    "text",
    [
        '<urn:a> <urn:b> "x"@en--ltr .\n',  # a base direction
        "<urn:a> <urn:b> <<( <urn:a> <urn:b> <urn:c> )>> .\n",  # a triple term
        '<urn:a> <urn:b> "<< not a term -- only text" .\n',  # the same characters, in a literal
        "".join(f"<urn:a> <urn:b> <urn:c{i}> .\n" for i in range(50)),  # as many lines as the limit
        # As many lines, ended by CR alone (N-Triples' EOL is CR or LF): not parsed whole here.
        "".join(f"<urn:a> <urn:b> <urn:c{i}> .\r" for i in range(50)),
    ],
)
def test_what_may_need_more_is_left_to_the_workers(text: str) -> None:
    assert plain_ntriples(text.encode(), LIMITS, READABLE) is None


async def test_bodies_left_to_the_workers_are_judged_there(tmp_path: Path) -> None:
    app = create_app(SubgraphStore.open(":memory:"), limits=LIMITS)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    body = lines(
        nt_entry("c1:plain", BODIES["rendered"]),
        nt_entry("c1:text", '<urn:a> <urn:b> "<< not a term -- only text" .\n'),
        nt_entry("c1:direction", '<urn:a> <urn:b> "x"@en--ltr .\n'),
        nt_entry("c1:broken", "<urn:a> <urn:b> .\n"),
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=60) as c:
            response = await c.post("/subgraph", content=body, headers=NDJSON)
            results = {r["id"]: (r["status"], r.get("error")) for r in response.json()["results"]}
            assert results == {
                "c1:plain": (201, None),
                "c1:text": (201, None),
                "c1:direction": (400, "@direction not supported"),
                "c1:broken": (400, "body is not N-Triples"),
            }
            text = await c.get("/sparql", params={"query": "SELECT ?o { <urn:a> <urn:b> ?o }"})
            assert "not a term" in text.text
    finally:
        await server.close()
