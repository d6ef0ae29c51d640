"""/sparql never federates: SERVICE would make the Metadata Service fetch URLs (SSRF)."""

from __future__ import annotations

import pytest

from kg_exporter.service.queries import refuse_federation
from kg_exporter.service.validation import BadRequest
from tests.service.conftest import Running
from tests.sink.scripted import Reply, scripted_server

REFUSED = [
    "SELECT * WHERE { SERVICE <http://10.0.0.1/sparql> { ?s ?p ?o } }",
    "select * where { service silent <http://x/> { ?s ?p ?o } }",
    "SELECT * WHERE { SERVICE ?endpoint { ?s ?p ?o } }",
    "PREFIX e: <http://x/> SELECT * WHERE { SERVICE e:sparql { ?s ?p ?o } }",
    "SELECT * WHERE { FILTER(?a < 1) SERVICE <http://x/> { ?s ?p ?o } FILTER(?b > 2) }",
    "SELECT * WHERE { ?s ?p 'x' . # comment\n SERVICE <http://x/> { ?s ?p ?o } }",
    "SELECT * WHERE { \\u0053ERVICE <http://x/> { ?s ?p ?o } }",
]
ALLOWED = [
    "PREFIX kgx: <https://w3id.org/kg-exporter/vocab#> SELECT ?service WHERE { ?x kgx:service ?service }",
    "SELECT * WHERE { ?s ?p 'SERVICE <http://x/> { }' }",
    'SELECT * WHERE { ?s ?p """a\nSERVICE <x> {}""" }',
    "SELECT * WHERE { ?s a <http://www.w3.org/ns/dcat#DataService> } # SERVICE <http://x/>",
    "SELECT * WHERE { ?s <http://x/SERVICE> ?o }",
]


@pytest.mark.parametrize("query", REFUSED)
def test_service_is_refused(query: str) -> None:
    with pytest.raises(BadRequest) as refused:
        refuse_federation(query)
    assert refused.value.status == 400


@pytest.mark.parametrize("query", ALLOWED)
def test_the_word_alone_is_fine(query: str) -> None:
    refuse_federation(query)


async def test_no_request_leaves_the_service(service: Running) -> None:
    async with scripted_server(
        [Reply(200, '{"head": {"vars": []}, "results": {"bindings": []}}')]
    ) as other:
        for silent in ("", "SILENT "):
            query = f"SELECT * WHERE {{ SERVICE {silent}<{other.url}/sparql> {{ ?s ?p ?o }} }}"
            answer = await service.client.get("/sparql", params={"query": query})
            assert answer.status_code == 400
            assert answer.json()["error"] == "SERVICE not allowed"
    assert other.seen == []
