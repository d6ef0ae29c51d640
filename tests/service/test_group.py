"""Group commit (kg_exporter.service.group): PUTs under way together are written together, each
with its own result, and writes of one id keep their order."""

from __future__ import annotations

import asyncio

import pytest

from kg_exporter.resources import context
from kg_exporter.service.group import GroupWriter
from kg_exporter.service.store import PutResult, Statements, SubgraphStore, n_triples
from kg_exporter.sink.jsonld import Compactor, document_triples
from tests.sink.documents import same_graph, workload_document


def statements(subgraph_id: str, name: str, **changes: object) -> Statements:
    data = n_triples(document_triples(workload_document(name, **changes)))
    return Statements(subgraph_id, data)


async def test_writes_together_each_get_their_result_and_one_id_keeps_its_order() -> None:
    store = SubgraphStore.open(":memory:")
    writer = GroupWriter(store)
    store.put_statements("g:existing", statements("g:existing", "old").data)
    first = statements("g:twice", "first")
    second = statements("g:twice", "second", phase="Failed", replicas=0)
    writes = [statements(f"g:w{index}", f"w{index}") for index in range(40)]
    writes += [first, statements("g:existing", "new", phase="Failed"), second]
    results = await asyncio.gather(*(writer.put(write) for write in writes))
    assert results[:40] == [PutResult.CREATED] * 40
    # The first write of g:twice creates it; the second, made later, replaces it and stays.
    assert results[40:] == [PutResult.CREATED, PutResult.REPLACED, PutResult.REPLACED]
    stored = Compactor(context()).document(store.get("g:twice") or [])
    assert same_graph(stored, workload_document("second", phase="Failed", replicas=0))
    assert store.count() == 42


async def test_a_lone_write_is_done_at_once_and_a_store_error_reaches_each_write() -> None:
    store = SubgraphStore.open(":memory:")
    writer = GroupWriter(store)
    assert await writer.put(statements("g:alone", "alone")) is PutResult.CREATED
    bad = [Statements(f"g:bad{index}", b"not n-triples\n") for index in range(3)]
    results = await asyncio.gather(*(writer.put(write) for write in bad), return_exceptions=True)
    assert all(isinstance(result, (SyntaxError, ValueError)) for result in results), results
    # The writer goes on after a failed group.
    assert await writer.put(statements("g:after", "after")) is PutResult.CREATED
    assert store.ids("g:") == ["g:after", "g:alone"]


@pytest.mark.parametrize("count", [1, 2])
async def test_nothing_is_left_waiting(count: int) -> None:
    store = SubgraphStore.open(":memory:")
    writer = GroupWriter(store)
    writes = [statements("g:same", f"v{index}") for index in range(count)]
    await asyncio.wait_for(asyncio.gather(*(writer.put(write) for write in writes)), 60)
    assert store.ids("g:") == ["g:same"]
