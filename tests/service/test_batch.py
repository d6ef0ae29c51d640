"""``POST /subgraph``: many subgraphs per request, each refused or written on its own, the new
ones created together (bulk-loaded when many), read back as if each had been PUT."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import orjson
from aiohttp.test_utils import TestServer

from kg_exporter.ntriples import from_json_ld
from kg_exporter.service import SubgraphStore, create_app
from kg_exporter.service.batch import MAX_SUBGRAPHS
from kg_exporter.service.limits import Limits
from kg_exporter.service.store import BULK_MIN_STATEMENTS
from tests.reliability.test_hostile_service import TIME_OR_MEMORY, one_big_scope
from tests.service.conftest import Running
from tests.sink.documents import same_graph, to_graph, workload_document

NDJSON = {"Content-Type": "application/x-ndjson"}


def lines(*items: Any) -> bytes:
    return b"".join(
        (item if isinstance(item, bytes) else orjson.dumps(item)) + b"\n" for item in items
    )


def entry(subgraph_id: str, document: dict[str, Any]) -> dict[str, Any]:
    return {"id": subgraph_id, "document": document}


async def post(service: Running, body: bytes) -> list[dict[str, Any]]:
    response = await service.client.post("/subgraph", content=body, headers=NDJSON)
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    return results


async def test_each_subgraph_is_refused_or_written_on_its_own(service: Running) -> None:
    results = await post(
        service,
        lines(
            entry("c1:a", workload_document("a")),
            entry("c1:none", {"@context": {}, "@graph": [{"nothing": 1}]}),
            entry("c1/b", workload_document("b")),
            b"{not json",
            {"document": workload_document("c")},
            entry("c1:c", workload_document("c")),
            entry("c1:a", workload_document("a2")),
            {"id": "c1:list", "document": [1]},
            entry("c1:named", {"@id": "urn:x", "@graph": [{"@id": "urn:s", "urn:p": "o"}]}),
        ),
    )
    summary = [(r["id"], r["status"], r.get("error")) for r in results]
    assert summary == [
        ("c1:a", 201, None),
        ("c1:none", 400, "no triples"),
        ("c1/b", 400, "invalid subgraph id"),
        (None, 400, "line is not JSON"),
        (None, 400, "line is not a subgraph"),
        ("c1:c", 201, None),
        ("c1:a", 400, "repeated id"),
        ("c1:list", 400, "body is not a JSON object"),
        ("c1:named", 400, "named graphs not allowed"),
    ]
    assert all(r["detail"] for r in results if r["status"] == 400)
    listed = await service.client.get("/subgraph", params={"prefix": "c1"})
    assert listed.json() == ["c1:a", "c1:c"]
    for name in ("a", "c"):
        got = await service.client.get(f"/subgraph/c1:{name}")
        assert same_graph(got.json(), workload_document(name))


async def test_a_batch_again_is_unchanged_and_a_changed_one_replaces(service: Running) -> None:
    first = lines(*(entry(f"c1:w{i}", workload_document(f"w{i}")) for i in range(3)))
    assert [r["status"] for r in await post(service, first)] == [201, 201, 201]
    again = await post(service, first)
    assert [(r["status"], r.get("unchanged")) for r in again] == [(204, True)] * 3
    changed = workload_document("w1", phase="Failed", replicas=0)
    mixed = await post(
        service,
        lines(
            entry("c1:w0", workload_document("w0")),
            entry("c1:w1", changed),
            entry("c1:w9", workload_document("w9")),
        ),
    )
    assert [(r["status"], r.get("unchanged")) for r in mixed] == [
        (204, True),
        (204, None),
        (201, None),
    ]
    got = await service.client.get("/subgraph/c1:w1")
    assert same_graph(got.json(), changed)
    # A single PUT sees the batch's writes, and the other way round.
    put = await service.client.put(
        "/subgraph/c1:w9", content=json.dumps(workload_document("w9")), headers=_LD
    )
    assert put.status_code == 204 and put.headers["Subgraph-Unchanged"] == "true"


_LD = {"Content-Type": "application/ld+json"}


class _Recorded:
    """The pyoxigraph store, noting which of its loading methods were called."""

    def __init__(self, store: Any) -> None:
        self._inner = store
        self.names: list[str] = []

    def __getattr__(self, name: str) -> Any:
        if name in ("load", "bulk_load", "update"):
            self.names.append(name)
        return getattr(self._inner, name)


async def test_a_large_batch_is_bulk_loaded_and_then_behaves_as_any_subgraph(
    service: Running,
) -> None:
    count = 200
    documents = {f"c1:bulk:{i:03d}": workload_document(f"bulk{i}") for i in range(count)}
    assert count * len(to_graph(workload_document())) > BULK_MIN_STATEMENTS
    calls = _Recorded(service.store._store)
    service.store._store = calls  # type: ignore[assignment]
    results = await post(service, lines(*(entry(i, d) for i, d in documents.items())))
    assert [r["status"] for r in results] == [201] * count
    # Enough for a bulk load of their own: loaded at once, not staged (small batches are).
    assert calls.names == ["bulk_load"]
    assert not service.store.has_staged()
    health = await service.client.get("/healthz")
    assert health.json()["subgraphs"] == count
    some = "c1:bulk:042"
    assert same_graph((await service.client.get(f"/subgraph/{some}")).json(), documents[some])
    asked = await service.client.get(
        "/sparql",
        params={"query": "SELECT (COUNT(DISTINCT ?g) AS ?n) { GRAPH ?g { ?s ?p ?o } }"},
    )
    assert asked.json()["results"]["bindings"][0]["n"]["value"] == str(count)
    # Replaced and deleted like any other subgraph.
    changed = workload_document("bulk42", phase="Failed")
    put = await service.client.put(f"/subgraph/{some}", content=json.dumps(changed), headers=_LD)
    assert put.status_code == 204
    assert same_graph((await service.client.get(f"/subgraph/{some}")).json(), changed)
    assert (await service.client.delete("/subgraph/c1:bulk:000")).status_code == 204
    assert (await service.client.get("/subgraph/c1:bulk:000")).status_code == 404
    assert service.store.count() == count - 1


async def test_blank_nodes_of_two_subgraphs_stay_apart(service: Running) -> None:
    def with_blank(value: str) -> dict[str, Any]:
        return {
            "@context": {"p": "urn:p", "q": "urn:q"},
            "@graph": [{"@id": f"urn:{value}", "p": {"@id": "_:b0"}}, {"@id": "_:b0", "q": value}],
        }

    results = await post(
        service, lines(entry("c1:x", with_blank("x")), entry("c1:y", with_blank("y")))
    )
    assert [r["status"] for r in results] == [201, 201]
    for value in ("x", "y"):
        got = (await service.client.get(f"/subgraph/c1:{value}")).json()
        assert same_graph(got, with_blank(value))


async def test_what_makes_the_whole_request_unreadable_is_refused_whole(service: Running) -> None:
    body = lines(entry("c1:a", workload_document("a")))
    wrong_type = await service.client.post(
        "/subgraph", content=body, headers={"Content-Type": "application/ld+json"}
    )
    assert wrong_type.status_code == 415
    assert wrong_type.json()["error"] == "unsupported content type"
    empty = await service.client.post("/subgraph", content=b"\n \n", headers=NDJSON)
    assert (empty.status_code, empty.json()["error"]) == (400, "empty batch")
    many = lines(*({"id": f"c1:{i}"} for i in range(MAX_SUBGRAPHS + 1)))
    too_many = await service.client.post("/subgraph", content=many, headers=NDJSON)
    assert (too_many.status_code, too_many.json()["error"]) == (400, "batch too large")
    big = b"x" * (4 * 1024 * 1024 + 1)
    too_big = await service.client.post("/subgraph", content=big, headers=NDJSON)
    assert (too_big.status_code, too_big.json()["error"]) == (413, "body too large")
    assert service.store.count() == 0


async def test_hostile_documents_are_refused_alone_under_the_put_limits(tmp_path: Path) -> None:
    # The limits of a PUT body hold for each document: too deep (checked before any parser),
    # and one that keeps its parse worker busy past the time limit, which takes the other
    # documents of its worker request down with it; they are parsed again and written.
    limits = Limits(parse_seconds=1.0)
    app = create_app(SubgraphStore.open(str(tmp_path / "store")), limits=limits)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    deep: dict[str, Any] = {"@context": {}, "@graph": []}
    for _ in range(100):
        deep = {"@context": {}, "@graph": [deep]}
    slow = json.loads(one_big_scope(900, 10_000))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=60) as c:
            response = await c.post(
                "/subgraph",
                content=lines(
                    entry("c1:a", workload_document("a")),
                    entry("c1:deep", deep),
                    entry("c1:slow", slow),
                    entry("c1:b", workload_document("b")),
                ),
                headers=NDJSON,
            )
            results = response.json()["results"]
            assert [(r["id"], r["status"]) for r in results] == [
                ("c1:a", 201),
                ("c1:deep", 400),
                ("c1:slow", 422),
                ("c1:b", 201),
            ]
            assert results[1]["error"] == "body nested too deeply"
            assert results[2]["error"] in TIME_OR_MEMORY
            listed = await c.get("/subgraph")
            assert listed.json() == ["c1:a", "c1:b"]
    finally:
        await server.close()


def nt_entry(subgraph_id: str, statements: bytes | str) -> dict[str, Any]:
    text = statements.decode() if isinstance(statements, bytes) else statements
    return {"id": subgraph_id, "ntriples": text}


async def test_n_triples_lines_read_back_as_the_json_ld_a_put_stores(service: Running) -> None:
    document = workload_document("nt")
    statements = from_json_ld(orjson.dumps(document))
    assert statements is not None
    put = await service.client.put("/subgraph/c1:put", content=orjson.dumps(document), headers=_LD)
    assert put.status_code == 201
    results = await post(service, lines(nt_entry("c1:nt", statements)))
    assert [r["status"] for r in results] == [201]
    by_put = (await service.client.get("/subgraph/c1:put")).json()
    by_line = (await service.client.get("/subgraph/c1:nt")).json()
    assert by_line == by_put
    again = await post(
        service, lines(nt_entry("c1:nt", statements), nt_entry("c1:put", statements))
    )
    assert [(r["status"], r.get("unchanged")) for r in again] == [(204, True), (204, True)]


async def test_hostile_n_triples_lines_are_refused_alone(tmp_path: Path) -> None:
    # The limits of a body hold for N-Triples, and what JSON-LD cannot say is refused: each such
    # line alone, with its id and reason, the others written.
    limits = Limits(max_triples=100)
    app = create_app(SubgraphStore.open(str(tmp_path / "store")), limits=limits)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    good = from_json_ld(orjson.dumps(workload_document("a")))
    assert good is not None
    term = "<<( <urn:a> <urn:b> <urn:c> )>>"
    deep = term
    for _ in range(200):
        deep = f"<<( <urn:a> <urn:b> {deep} )>>"
    cases = {
        "c1:syntax": "<urn:a> <urn:b> .\n",
        "c1:relative": "<a> <urn:b> <urn:c> .\n",
        "c1:quad": "<urn:a> <urn:b> <urn:c> <urn:g> .\n",
        "c1:empty": "# nothing\n",
        "c1:term": f"<urn:a> <urn:b> {term} .\n",
        "c1:deep": f"<urn:a> <urn:b> {deep} .\n",
        "c1:direction": '<urn:a> <urn:b> "x"@en--ltr .\n',
        "c1:many": "".join(f"<urn:a> <urn:b> <urn:c{i}> .\n" for i in range(101)),
        "c1:unreadable": "<urn:a> <urn:b> <kgx:thing> .\n",
    }
    expected = {
        "c1:syntax": (400, "body is not N-Triples"),
        "c1:relative": (400, "body is not N-Triples"),
        "c1:quad": (400, "body is not N-Triples"),
        "c1:empty": (400, "no triples"),
        "c1:term": (400, "triple terms not supported"),
        "c1:deep": (400, "body nested too deeply"),
        "c1:direction": (400, "@direction not supported"),
        "c1:many": (413, "too many triples"),
        "c1:unreadable": (422, "cannot be read back"),
    }
    body = lines(
        nt_entry("c1:a", good),
        *(nt_entry(i, text) for i, text in cases.items()),
        {"id": "c1:both", "ntriples": good.decode(), "document": workload_document("b")},
        {"id": "c1:number", "ntriples": 5},
        nt_entry("c1:b", from_json_ld(orjson.dumps(workload_document("b"))) or b""),
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=60) as c:
            response = await c.post("/subgraph", content=body, headers=NDJSON)
            results = {r["id"]: (r["status"], r.get("error")) for r in response.json()["results"]}
            assert results == {
                "c1:a": (201, None),
                **expected,
                "c1:both": (400, "line is not a subgraph"),
                "c1:number": (400, "body is not N-Triples"),
                "c1:b": (201, None),
            }
            assert (await c.get("/subgraph")).json() == ["c1:a", "c1:b"]
    finally:
        await server.close()
