"""SubgraphStore: replaces by difference end in exactly the new graph, whatever path they take."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyoxigraph as ox
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kg_exporter.service import PutResult, SubgraphStore
from kg_exporter.service.store import IN_MEMORY, Statements, n_triples
from kg_exporter.service.validation import BadRequest, parse_document, subgraph_id_from_segment
from kg_exporter.sink.jsonld import document_triples
from tests.sink.documents import workload_document


def triples(name: str = "web", **changes: object) -> list[ox.Triple]:
    return document_triples(workload_document(name, **changes))  # type: ignore[arg-type]


def canonical(body: list[ox.Triple]) -> set[ox.Triple]:
    """``body`` as Oxigraph stores it: typed literals in canonical form ("30.250" → "30.25")."""
    store = ox.Store()
    store.extend(ox.Quad(t.subject, t.predicate, t.object) for t in body)
    return {quad.triple for quad in store}


@pytest.mark.parametrize("remembered", [0, 1, 100])
def test_every_replace_path_ends_in_exactly_the_new_graph(tmp_path: Path, remembered: int) -> None:
    store = SubgraphStore.open(str(tmp_path / "store"), remembered=remembered)
    versions = [triples(), triples(phase="Failed"), triples("other", replicas=0), triples()]
    assert store.put("c:w", versions[0]) is PutResult.CREATED
    store.put("c:other", triples("x"))  # evicts c:w when only one is remembered
    for version in versions[1:]:
        assert store.put("c:w", version) is PutResult.REPLACED
        assert set(store.get("c:w") or []) == canonical(version)
    assert store.count() == 2


def test_blank_nodes_replace_whole(tmp_path: Path) -> None:
    store = SubgraphStore.open(str(tmp_path / "store"))
    with_blank = parse_document(
        json.dumps(
            {"@id": "https://e.org/a", "https://e.org/p": {"https://e.org/q": "inner"}}
        ).encode()
    )
    store.put("c:b", triples())
    store.put("c:b", with_blank)  # named → blank
    store.put("c:b", with_blank)  # blank → blank
    assert len(store.get("c:b") or []) == 2
    store.put("c:b", triples())  # blank → named
    assert set(store.get("c:b") or []) == canonical(triples())


def test_unchanged_knows_only_the_last_body(tmp_path: Path) -> None:
    store = SubgraphStore.open(str(tmp_path / "store"))
    store.put("c:w", triples(), body_digest=b"one")
    assert store.unchanged("c:w", b"one") and not store.unchanged("c:w", b"two")
    store.put("c:w", triples(phase="x"), body_digest=b"two")
    assert store.unchanged("c:w", b"two") and not store.unchanged("c:w", b"one")
    store.delete("c:w")
    assert not store.unchanged("c:w", b"two")


def test_a_reopened_store_knows_its_subgraphs(tmp_path: Path) -> None:
    store = SubgraphStore.open(str(tmp_path / "store"))
    store.put("c:a", triples("a"))
    store.put("c:b", triples("b"))
    store.flush()
    del store
    reopened = SubgraphStore.open(str(tmp_path / "store"))
    assert reopened.count() == 2 and reopened.ids("c:") == ["c:a", "c:b"]
    assert reopened.put("c:a", triples("a2")) is PutResult.REPLACED
    assert set(reopened.get("c:a") or []) == canonical(triples("a2"))


def test_create_only_never_replaces(tmp_path: Path) -> None:
    store = SubgraphStore.open(":memory:")
    assert store.put("c:a", triples(), create_only=True) is PutResult.CREATED
    assert store.put("c:a", triples("z"), create_only=True) is PutResult.CONFLICT
    assert set(store.get("c:a") or []) == canonical(triples())


@pytest.mark.parametrize(
    ("segment", "subgraph_id"),
    [
        ("c1:workload:pod:default:web", "c1:workload:pod:default:web"),
        ("c1:node:w%25C3%25A9", "c1:node:w%C3%A9"),
        ("a~1", "a~1"),
        ("a%3Ab", "a:b"),
    ],
)
def test_ids_from_path_segments(segment: str, subgraph_id: str) -> None:
    assert subgraph_id_from_segment(segment) == subgraph_id


@pytest.mark.parametrize(
    "segment",
    ["", "a/b", "a%2Fb", "a%2fb", "..", "%2E%2E", "%2e", "w%C3%A9", "%FF", "a%20b", "a%3Eb"],
)
def test_invalid_path_segments(segment: str) -> None:
    with pytest.raises(BadRequest) as refused:
        subgraph_id_from_segment(segment)
    assert refused.value.status == 400


@pytest.mark.parametrize("remembered", [0, 100])
def test_lexical_variants_of_one_value_replace_cleanly(tmp_path: Path, remembered: int) -> None:
    """Oxigraph keeps typed literals by value; a difference computed on lexical forms must still
    end in exactly the new graph."""
    store = SubgraphStore.open(str(tmp_path / "store"), remembered=remembered)
    decimal = ox.NamedNode("http://www.w3.org/2001/XMLSchema#decimal")
    s, p, q = (ox.NamedNode(f"https://e.org/{n}") for n in "spq")

    def body(lexical: str, other: str) -> list[ox.Triple]:
        return [
            ox.Triple(s, p, ox.Literal(lexical, datatype=decimal)),
            ox.Triple(s, q, ox.Literal(other)),
        ]

    for version in (body("1.50", "a"), body("1.5", "b"), body("01.500", "b"), body("2.0", "c")):
        store.put("c:v", version)
        assert set(store.get("c:v") or []) == canonical(version)


@pytest.mark.parametrize("remembered", [0, 100])
def test_two_spellings_of_one_value_then_one(tmp_path: Path, remembered: int) -> None:
    """A body saying "1.5" and "1.50" stores one triple; dropping one spelling keeps it."""
    store = SubgraphStore.open(str(tmp_path / "store"), remembered=remembered)
    decimal = ox.NamedNode("http://www.w3.org/2001/XMLSchema#decimal")
    s, p = ox.NamedNode("https://e.org/s"), ox.NamedNode("https://e.org/p")
    both = [ox.Triple(s, p, ox.Literal(v, datatype=decimal)) for v in ("1.5", "1.50")]
    store.put("c:d", both)
    store.put("c:d", both[:1])
    assert set(store.get("c:d") or []) == canonical(both[:1])
    store.put("c:d", both[1:])
    assert set(store.get("c:d") or []) == canonical(both[1:])


def test_an_empty_subgraph_is_refused(tmp_path: Path) -> None:
    store = SubgraphStore.open(":memory:")
    with pytest.raises(ValueError, match="at least one triple"):
        store.put("c:e", [])
    assert store.count() == 0


_S = [ox.NamedNode(f"https://e.org/s{i}") for i in range(2)]
_P = [ox.NamedNode(f"https://e.org/p{i}") for i in range(2)]
_XSD = "http://www.w3.org/2001/XMLSchema#"
_O: list[ox.NamedNode | ox.Literal] = [
    ox.NamedNode("https://e.org/o"),
    ox.Literal("x"),
    ox.Literal("x", language="en"),
    *(ox.Literal(v, datatype=ox.NamedNode(_XSD + "decimal")) for v in ("1.5", "1.50", "01.5")),
    *(ox.Literal(v, datatype=ox.NamedNode(_XSD + "integer")) for v in ("7", "007", "+7")),
    *(
        ox.Literal(v, datatype=ox.NamedNode(_XSD + "dateTime"))
        for v in ("2024-01-01T00:00:00.250Z", "2024-01-01T00:00:00.25Z")
    ),
    ox.Literal("true", datatype=ox.NamedNode(_XSD + "boolean")),
    ox.Literal("1", datatype=ox.NamedNode(_XSD + "boolean")),
]
_TRIPLES = [ox.Triple(s, p, o) for s in _S for p in _P for o in _O]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.sets(st.sampled_from(range(len(_TRIPLES))), min_size=1, max_size=10),
        min_size=1,
        max_size=6,
    ),
    st.sampled_from([0, 1, 100]),
)
def test_any_sequence_of_bodies_ends_in_the_last_one(
    bodies: list[set[int]], remembered: int
) -> None:
    store = SubgraphStore(ox.Store(), remembered=remembered)
    for body in bodies:
        triples = [_TRIPLES[index] for index in sorted(body)]
        store.put("c:h", triples)
        store.put("c:other", triples[:1])  # evicts c:h when one id is remembered
        assert set(store.get("c:h") or []) == canonical(triples)


@pytest.mark.parametrize("remembered", [0, 100])
def test_a_body_already_stored_is_unchanged_and_writes_nothing(
    tmp_path: Path, remembered: int
) -> None:
    store = SubgraphStore.open(str(tmp_path / "store"), remembered=remembered)
    assert store.put("c:w", triples()) is PutResult.CREATED
    before = store.dump()
    assert store.put("c:w", triples()) is PutResult.UNCHANGED
    assert store.put("c:w", triples(phase="Failed")) is PutResult.REPLACED
    assert store.put("c:w", triples(phase="Failed")) is PutResult.UNCHANGED
    assert store.put("c:w", triples()) is PutResult.REPLACED
    assert store.dump() == before


def test_unchanged_by_value_after_a_restart(tmp_path: Path) -> None:
    """Read back from disk, "2.5E-1" is "0.25": the same value, so the same subgraph."""
    double = ox.NamedNode("http://www.w3.org/2001/XMLSchema#double")
    s, p = ox.NamedNode("https://e.org/s"), ox.NamedNode("https://e.org/p")
    body = [ox.Triple(s, p, ox.Literal("2.5E-1", datatype=double))]
    first = SubgraphStore.open(str(tmp_path / "store"))
    assert first.put("c:n", body) is PutResult.CREATED
    first.flush()
    del first
    reopened = SubgraphStore.open(str(tmp_path / "store"))
    assert reopened.put("c:n", body) is PutResult.UNCHANGED
    other = [ox.Triple(s, p, ox.Literal("2.6E-1", datatype=double))]
    assert reopened.put("c:n", other) is PutResult.REPLACED
    assert set(reopened.get("c:n") or []) == canonical(other)


class _CountingStore:
    """Stands in for pyoxigraph's Store where only flush() is called: counts the calls."""

    def __init__(self) -> None:
        self.flushes = 0

    def flush(self) -> None:
        self.flushes += 1


def test_memory_tables_are_flushed_in_the_background_every_so_many_bytes() -> None:
    from kg_exporter.service.store import _Flusher

    counting = _CountingStore()
    flusher = _Flusher(counting, 100)  # type: ignore[arg-type]
    flusher.wrote(60)
    flusher.join()
    assert counting.flushes == 0
    flusher.wrote(60)
    flusher.join()
    assert counting.flushes == 1
    for _ in range(3):
        flusher.wrote(100)
        flusher.join()
    assert counting.flushes == 4
    off = _Flusher(counting, 0)  # type: ignore[arg-type]
    off.wrote(10**9)
    off.join()
    assert counting.flushes == 4


def test_a_store_flushing_after_every_write_keeps_everything(tmp_path: Path) -> None:
    store = SubgraphStore.open(str(tmp_path / "store"), flush_bytes=1)
    for index in range(30):
        store.put(f"c:w{index}", triples(f"w{index}"))
        store.put(f"c:w{index}", triples(f"w{index}", phase="Failed"))
    store.flush()
    dumped = store.dump()
    del store
    reopened = SubgraphStore.open(str(tmp_path / "store"))
    assert reopened.count() == 30 and reopened.dump() == dumped


def test_a_closed_store_releases_its_directory_and_refuses_use(tmp_path: Path) -> None:
    store = SubgraphStore.open(str(tmp_path / "store"))
    store.put("c:w", triples())
    store.close()
    with pytest.raises(RuntimeError, match="closed"):
        store.get("c:w")
    # RocksDB's lock is released at once: the directory opens again while the object lives.
    again = SubgraphStore.open(str(tmp_path / "store"))
    assert again.count() == 1
    again.close()


def test_the_body_cache_is_bounded_by_bytes_not_only_by_count() -> None:
    """Issue 17: by count alone, 30 bodies of 3 MB kept 128 MB."""
    from kg_exporter.service.store import _Recent

    recent = _Recent(20_000, max_bytes=12 * 1024 * 1024)
    for index in range(30):
        # Statements compressing to ~550 KB each: the budget, not the count, must decide.
        body = b"".join(
            b'<https://e.org/s> <https://e.org/p> "%s" .\n' % os.urandom(48).hex().encode()
            for _ in range(8_000)
        )
        recent.put(f"c1:w{index}", b"digest", body)
        assert recent.size <= 12 * 1024 * 1024
    assert recent.digest("c1:w29") == b"digest"  # the newest is kept
    assert recent.digest("c1:w0") is None  # the oldest made room
    huge = os.urandom(3 * 1024 * 1024)
    recent.put("c1:huge", b"h", huge)  # over a sixteenth of the budget: not kept at all
    assert recent.digest("c1:huge") is None


def test_a_batch_that_fails_in_memory_leaves_none_of_its_new_subgraphs() -> None:
    # In memory each new subgraph is its own transaction; all or none still holds for the batch.
    store = SubgraphStore.open(IN_MEMORY)
    good = n_triples([ox.Triple(ox.NamedNode("urn:a"), ox.NamedNode("urn:b"), ox.Literal("x"))])
    batch = [
        Statements("c1:first", good),
        Statements("c1:broken", b"<urn:a> <urn:b> .\n"),
        Statements("c1:last", good),
    ]
    with pytest.raises(SyntaxError):
        store.put_many(batch)
    assert store.ids() == [] and store.count() == 0
    assert store.put_many([batch[0], batch[2]]) == [PutResult.CREATED] * 2
    assert store.ids() == ["c1:first", "c1:last"] and store.count() == 2
