"""What is put is what is got, through each of the three sinks against its real server."""

from __future__ import annotations

import json

import httpx
import pytest

from kg_exporter.errors import SinkRejected
from kg_exporter.identity import subgraph_graph_iri
from kg_exporter.sink import PutOutcome, Sink
from tests.sink.documents import same_graph, triple_count, workload_document


async def test_put_get_replace_list_delete(any_sink: tuple[str, Sink], unique_prefix: str) -> None:
    kind, sink = any_sink
    subgraph_id = unique_prefix + "workload:deployment:default:web%C3%A9"
    first = workload_document("wéb")
    second = workload_document("wéb", phase="Failed", replicas=0)

    assert await sink.get(subgraph_id) is None
    assert await sink.put(subgraph_id, first) is PutOutcome.CREATED
    stored = await sink.get(subgraph_id)
    assert stored is not None and same_graph(stored, first), kind
    assert triple_count(stored) == 41

    assert await sink.put(subgraph_id, second) is PutOutcome.REPLACED
    stored = await sink.get(subgraph_id)
    assert stored is not None and same_graph(stored, second), kind

    other = unique_prefix + "workload:deployment:default:api"
    await sink.put(other, workload_document("api"))
    assert await sink.list(unique_prefix) == sorted([subgraph_id, other])
    assert await sink.list(unique_prefix + "workload:deployment:default:w") == [subgraph_id]

    assert await sink.delete(subgraph_id) is True
    assert await sink.get(subgraph_id) is None
    assert await sink.delete(subgraph_id) is False
    assert await sink.list(unique_prefix) == [other]


async def test_repeated_put_is_idempotent(any_sink: tuple[str, Sink], unique_prefix: str) -> None:
    kind, sink = any_sink
    subgraph_id = unique_prefix + "node:worker-1"
    document = workload_document("same")
    await sink.put(subgraph_id, document)
    # The reference service tells "already so" apart, the glaciation sink by the digest it keeps
    # with each subgraph; a Graph Store cannot.
    again = PutOutcome.REPLACED if kind == "graph-store" else PutOutcome.UNCHANGED
    assert await sink.put(subgraph_id, document) is again
    stored = await sink.get(subgraph_id)
    assert stored is not None and same_graph(stored, document)


@pytest.mark.parametrize("bad_id", ["a/b", "..", "wéb", "", "x" * 1025, "a b", "a>b"])
async def test_invalid_ids_are_refused_before_sending(
    any_sink: tuple[str, Sink], bad_id: str
) -> None:
    _, sink = any_sink
    with pytest.raises(SinkRejected) as caught:
        await sink.put(bad_id, workload_document())
    assert caught.value.status == 400


async def test_glaciation_keeps_one_snapshot_per_subgraph(
    glaciation_sink: Sink, sink_urls: dict[str, str], unique_prefix: str
) -> None:
    subgraph_id = unique_prefix + "workload:statefulset:db:pg"
    for replicas in range(3):
        await glaciation_sink.put(subgraph_id, workload_document("pg", replicas=replicas))
    iri = subgraph_graph_iri(subgraph_id)
    query = f'SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(STRSTARTS(STR(?g), "{iri}/")) }}'
    async with httpx.AsyncClient() as client:
        answer = await client.get(
            f"{sink_urls['glaciation']}/api/v0/graph", params={"query": query}
        )
    graphs = [row["g"]["value"] for row in answer.json()["results"]["bindings"]]
    assert len(graphs) == 1 and graphs[0].startswith(f"{iri}/timestamp:")
    stored = await glaciation_sink.get(subgraph_id)
    assert stored is not None and same_graph(stored, workload_document("pg", replicas=2))


async def test_graph_store_sends_no_graph_name(graph_store_sink: Sink, unique_prefix: str) -> None:
    """Oxigraph refuses a top-level @id next to @graph in a graph PUT; the sink drops it."""
    document = dict(workload_document(), **{"@id": "urn:some:graph"})
    subgraph_id = unique_prefix + "glaciation-node:n1"
    assert await graph_store_sink.put(subgraph_id, document) is PutOutcome.CREATED
    stored = await graph_store_sink.get(subgraph_id)
    assert stored is not None and same_graph(stored, workload_document())


async def test_every_sink_answers_the_same(
    running_sinks: list[tuple[str, Sink]], unique_prefix: str
) -> None:
    document = workload_document("shared")
    results = {}
    for kind, sink in running_sinks:
        await sink.put(unique_prefix + "x", document)
        results[kind] = await sink.get(unique_prefix + "x")
    assert all(same_graph(result, document) for result in results.values())
    assert json.dumps(results["subgraph"], sort_keys=True) == json.dumps(
        results["graph-store"], sort_keys=True
    ), "both compact with the product context, deterministically"
