"""/sparql never federates: SERVICE would make the Metadata Service fetch URLs (SSRF)."""

from __future__ import annotations

import gc
import json

import pytest

from kg_exporter.service.app import run_in_daemon_thread
from kg_exporter.service.limits import Limits
from kg_exporter.service.queries import refuse_federation
from kg_exporter.service.store import SubgraphStore
from kg_exporter.service.validation import BadRequest, parse_document
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
    # Found in the algebra wherever it is: a text scan read ".SERVICE" as one word.
    "SELECT ?x WHERE { {} .SERVICE <http://x/> { ?x ?y ?z } }",
    "SELECT * WHERE { ?a ?b ?c FILTER EXISTS { SERVICE <http://x/> { ?s ?p ?o } } }",
    "SELECT * WHERE { { SELECT * WHERE { SERVICE <http://x/> { ?s ?p ?o } } } }",
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
    assert refused.value.error == "SERVICE not allowed"


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


def test_a_query_that_cannot_be_checked_is_not_run() -> None:
    with pytest.raises(BadRequest) as refused:
        refuse_federation("SELECT * WHERE { ?s ?p ?o")
    assert refused.value.error == "invalid SPARQL query"


def _rss_mib() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


async def test_queries_failing_while_written_leak_nothing() -> None:
    """The leak of issue 17: a query whose result fails to serialise, run in a thread, used to
    hand its exception (and with it the result object) to the event loop's thread, and pyoxigraph
    leaks a result dropped by another thread than its own. 2,000 of them: memory stays flat."""
    store = SubgraphStore.open(":memory:")
    for i in range(50):
        document = {"@id": f"https://e.org/{i}", "https://e.org/p": "v" * 200}
        store.put(f"c1:w{i}", parse_document(json.dumps(document).encode()))
    limits = Limits(max_result_bytes=2_000)
    failing = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f }"

    async def fail(count: int) -> None:
        for _ in range(count):
            with pytest.raises(BadRequest) as refused:
                await run_in_daemon_thread(lambda: store.query(failing, limits))
            assert refused.value.error == "result too large"

    await fail(200)
    gc.collect()
    before = _rss_mib()
    await fail(2_000)
    gc.collect()
    after = _rss_mib()
    assert after - before < 8, (before, after)
