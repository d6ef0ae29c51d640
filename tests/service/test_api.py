"""The /subgraph contract of contracts.md, /sparql, /healthz and /metrics."""

from __future__ import annotations

import json

from prometheus_client.parser import text_string_to_metric_families

from kg_exporter.resources import context
from tests.service.conftest import Running
from tests.sink.documents import same_graph, workload_document

LD = {"Content-Type": "application/ld+json"}
ID = "cluster1:workload:deployment:default:web%C3%A9"
PATH = "/subgraph/cluster1:workload:deployment:default:web%25C3%25A9"


def body(document: object) -> bytes:
    return json.dumps(document).encode()


async def test_put_creates_then_replaces_and_get_returns_it(service: Running) -> None:
    first, second = workload_document("a"), workload_document("a", phase="Succeeded")
    created = await service.client.put(PATH, content=body(first), headers=LD)
    assert created.status_code == 201
    assert created.headers["Location"] == PATH
    replaced = await service.client.put(PATH, content=body(second), headers=LD)
    assert replaced.status_code == 204
    assert "Subgraph-Unchanged" not in replaced.headers

    got = await service.client.get(PATH)
    assert got.status_code == 200
    assert got.headers["Content-Type"].startswith("application/ld+json")
    document = got.json()
    assert document["@context"] == context(), "compacted with the product's context"
    assert same_graph(document, second)


async def test_put_accepts_plain_json_and_an_unchanged_body_changes_nothing(
    service: Running,
) -> None:
    document = body(workload_document())
    headers = {"Content-Type": "application/json; charset=utf-8"}
    assert (await service.client.put(PATH, content=document, headers=headers)).status_code == 201
    before = service.store.dump()
    again = await service.client.put(PATH, content=document, headers=headers)
    assert again.status_code == 204
    assert again.headers["Subgraph-Unchanged"] == "true"
    # Other bytes, same statements (keys reordered): unchanged too, found by comparing.
    reordered = json.dumps(dict(reversed(list(workload_document().items())))).encode()
    same = await service.client.put(PATH, content=reordered, headers=headers)
    assert (same.status_code, same.headers.get("Subgraph-Unchanged")) == (204, "true")
    assert service.store.dump() == before


async def test_post_creates_only(service: Running) -> None:
    document = body(workload_document())
    assert (await service.client.post(PATH, content=document, headers=LD)).status_code == 201
    conflict = await service.client.post(PATH, content=body(workload_document("b")), headers=LD)
    assert conflict.status_code == 409
    assert conflict.json()["error"] == "subgraph exists"
    assert same_graph((await service.client.get(PATH)).json(), workload_document())


async def test_get_and_delete_of_a_missing_subgraph_are_404(service: Running) -> None:
    for method in ("GET", "DELETE"):
        answer = await service.client.request(method, "/subgraph/nothing:here")
        assert answer.status_code == 404
        assert answer.json() == {"error": "no such subgraph", "detail": "nothing:here"}


async def test_delete(service: Running) -> None:
    await service.client.put(PATH, content=body(workload_document()), headers=LD)
    assert (await service.client.delete(PATH)).status_code == 204
    assert (await service.client.get(PATH)).status_code == 404
    assert (await service.client.delete(PATH)).status_code == 404
    assert service.store.count() == 0


async def test_list_by_prefix(service: Running) -> None:
    ids = ["c1:node:a", "c1:node:b", "c1:workload:x", "c2:node:a"]
    for subgraph_id in ids:
        await service.client.put(
            f"/subgraph/{subgraph_id}", content=body(workload_document()), headers=LD
        )
    assert (await service.client.get("/subgraph", params={"prefix": "c1:node:"})).json() == ids[:2]
    assert (await service.client.get("/subgraph")).json() == ids
    assert (await service.client.get("/subgraph", params={"prefix": "zz"})).json() == []


async def test_sparql_joins_across_subgraphs(service: Running) -> None:
    for name in ("a", "b"):
        await service.client.put(
            f"/subgraph/c1:w:{name}", content=body(workload_document(name)), headers=LD
        )
    query = (
        "PREFIX kgx: <https://w3id.org/kg-exporter/vocab#> "
        "SELECT ?name WHERE { ?w kgx:name ?name ; kgx:replicas 3 } ORDER BY ?name"
    )
    for answer in (
        await service.client.get("/sparql", params={"query": query}),
        await service.client.post(
            "/sparql", content=query, headers={"Content-Type": "application/sparql-query"}
        ),
        await service.client.post("/sparql", data={"query": query}),
    ):
        assert answer.status_code == 200
        assert answer.headers["Content-Type"].startswith("application/sparql-results+json")
        rows = answer.json()["results"]["bindings"]
        assert [row["name"]["value"] for row in rows] == ["a", "b"]
    ask = await service.client.get("/sparql", params={"query": "ASK { GRAPH ?g { ?s ?p ?o } }"})
    assert ask.json()["boolean"] is True
    construct = await service.client.get(
        "/sparql", params={"query": "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 3"}
    )
    assert construct.headers["Content-Type"].startswith("application/n-triples")
    assert construct.text.count(" .\n") == 3


async def test_sparql_refuses_updates_and_nonsense(service: Running) -> None:
    for query in ("DROP ALL", "SELECT WHERE {", ""):
        answer = await service.client.get("/sparql", params={"query": query})
        assert answer.status_code == 400, query
        assert "error" in answer.json()
    wrong_type = await service.client.post(
        "/sparql", content="ASK {}", headers={"Content-Type": "text/plain"}
    )
    assert wrong_type.status_code == 415


async def test_healthz_and_metrics(service: Running) -> None:
    await service.client.put(PATH, content=body(workload_document()), headers=LD)
    await service.client.put("/subgraph/x:y", content=b"nope", headers=LD)
    health = await service.client.get("/healthz")
    assert health.json() == {"status": "ok", "subgraphs": 1}
    text = (await service.client.get("/metrics")).text
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    route = ("route", "/subgraph/{id}")
    assert (
        samples[
            ("kg_metadata_service_requests_total", (("method", "PUT"), route, ("status", "201")))
        ]
        == 1
    )
    assert (
        samples[
            ("kg_metadata_service_requests_total", (("method", "PUT"), route, ("status", "400")))
        ]
        == 1
    )
    assert samples[("kg_metadata_service_subgraphs", ())] == 1
    assert samples[("process_resident_memory_bytes", ())] > 10 * 2**20
    assert (
        samples[("kg_metadata_service_request_duration_seconds_count", (("method", "PUT"), route))]
        == 2
    )


async def test_unknown_paths_and_methods_get_json_errors(service: Running) -> None:
    missing = await service.client.get("/nothing")
    assert missing.status_code == 404 and "error" in missing.json()
    patch = await service.client.patch(PATH, content=b"{}", headers=LD)
    assert patch.status_code == 405 and "PUT" in patch.headers["Allow"]


async def test_blank_nodes_are_accepted_and_replaced_whole(service: Running) -> None:
    document = {
        "@context": context(),
        "@graph": [{"@id": "https://e.org/a", "kgx:has": {"kgx:value": "nested, no @id"}}],
    }
    assert (await service.client.put(PATH, content=body(document), headers=LD)).status_code == 201
    assert (
        await service.client.put(PATH, content=body(document) + b" ", headers=LD)
    ).status_code == 204
    stored = (await service.client.get(PATH)).json()
    assert same_graph(stored, document), "replaced, not accumulated"


async def test_an_oversized_sparql_form_gets_the_same_413(service: Running) -> None:
    query = "ASK {}" + " " * (5 * 1024 * 1024)
    answer = await service.client.post("/sparql", data={"query": query})
    assert answer.status_code == 413
    assert answer.json()["error"] == "body too large"
