"""Staged batches (kg_exporter.service.staging): the new subgraphs of a batch are kept in a synced
file until enough are bulk-loaded together; nothing can tell them from stored ones, and a store
opened after a crash loads what was staged before serving."""

from __future__ import annotations

import time
from pathlib import Path

import pyoxigraph as ox

from kg_exporter.identity import subgraph_graph_iri
from kg_exporter.ntriples import in_graph
from kg_exporter.service import PutResult, SubgraphStore
from kg_exporter.service.staging import DIRECTORY
from kg_exporter.service.store import Statements, n_triples
from kg_exporter.sink.jsonld import document_triples
from tests.sink.documents import workload_document


def statements(name: str, **changes: object) -> bytes:
    return n_triples(document_triples(workload_document(name, **changes)))  # type: ignore[arg-type]


def graph(store: SubgraphStore, subgraph_id: str) -> set[ox.Triple]:
    return set(store.get(subgraph_id) or [])


def canonical(data: bytes) -> set[ox.Triple]:
    scratch = ox.Store()
    scratch.load(data, format=ox.RdfFormat.N_TRIPLES)
    return {quad.triple for quad in scratch}


def test_staged_subgraphs_read_and_write_as_stored_ones(tmp_path: Path) -> None:
    store = SubgraphStore.open(str(tmp_path / "store"))
    batch = [Statements(f"c:w{i}", statements(f"w{i}")) for i in range(5)]
    assert store.put_many(batch) == [PutResult.CREATED] * 5
    assert store.has_staged("c:w0") and store.count() == 5
    assert list((tmp_path / "store" / DIRECTORY).glob("*.nq"))
    # A replace of a staged subgraph loads what is staged first, then replaces by difference.
    assert store.put_statements("c:w1", statements("w1", phase="Failed")) is PutResult.REPLACED
    assert not store.has_staged()
    assert not list((tmp_path / "store" / DIRECTORY).iterdir())
    assert graph(store, "c:w1") == canonical(statements("w1", phase="Failed"))
    assert graph(store, "c:w3") == canonical(statements("w3"))
    # A batch naming a staged subgraph replaces it; a second identical batch changes nothing.
    again = [Statements("c:w9", statements("w9")), Statements("c:w3", statements("w3"))]
    assert store.put_many(again) == [PutResult.CREATED, PutResult.UNCHANGED]
    assert store.put_many(again[:1]) == [PutResult.UNCHANGED]
    assert store.delete("c:w9") and not store.delete("c:w9")
    assert store.ids("c:") == [f"c:w{i}" for i in range(5)]
    store.close()


def test_enough_staged_statements_are_loaded_in_the_background(tmp_path: Path) -> None:
    store = SubgraphStore.open(str(tmp_path / "store"), stage_bytes=20_000)
    for start in range(0, 40, 10):
        store.put_many(
            [Statements(f"c:w{i}", statements(f"w{i}")) for i in range(start, start + 10)]
        )
    deadline = time.monotonic() + 60
    while store.has_staged() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not store.has_staged(), "the staged batches were not loaded"
    assert store.count() == 40 and len(store.ids()) == 40
    store.close()


def test_a_store_opened_after_a_crash_loads_what_was_staged(tmp_path: Path) -> None:
    # What a process killed after acknowledging two staged batches leaves, and one killed while
    # writing a third (never renamed into place, so never acknowledged).
    staged = tmp_path / "store" / DIRECTORY
    staged.mkdir(parents=True)
    for number, name in enumerate(("a", "b")):
        quads = in_graph(statements(name), subgraph_graph_iri(f"c:{name}"))
        (staged / f"{number:012d}.nq").write_bytes(quads)
    (staged / "000000000002.nq.partial").write_bytes(b"<urn:s> <urn:p> <urn:o> <urn:g")
    store = SubgraphStore.open(str(tmp_path / "store"))
    assert store.count() == 2 and not store.has_staged()
    assert not list(staged.iterdir())
    assert graph(store, "c:b") == canonical(statements("b"))
    # Staging goes on after the files found there.
    store.put_many([Statements("c:c", statements("c"))])
    assert store.has_staged("c:c")
    store.close()
    reopened = SubgraphStore.open(str(tmp_path / "store"))
    assert reopened.ids() == ["c:a", "c:b", "c:c"]
    reopened.close()
