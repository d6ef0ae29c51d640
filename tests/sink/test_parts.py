"""The pure parts under the sinks: backoff, Retry-After, ids, query URLs, JSON-LD compaction."""

from __future__ import annotations

import json
from email.utils import formatdate
from urllib.parse import unquote

import pyoxigraph as ox
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kg_exporter.errors import SinkError
from kg_exporter.resources import context
from kg_exporter.sink import Backoff, parse_retry_after, sibling_query_url
from kg_exporter.sink.ids import id_path_segment, id_problem
from kg_exporter.sink.jsonld import Compactor, document_triples
from kg_exporter.sink.sparql import string_literal
from tests.sink.documents import same_graph, workload_document

NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, None),
        ("0", 0.0),
        ("2", 2.0),
        (" 1.5 ", 1.5),
        ("-3", None),
        ("soon", None),
        ("nan", None),
        (formatdate(NOW + 30, usegmt=True), 30.0),
        (formatdate(NOW - 30, usegmt=True), 0.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
    ],
)
def test_retry_after(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, NOW) == seconds


@given(st.integers(min_value=1, max_value=60), st.floats(min_value=0, max_value=0.999999))
def test_backoff_is_full_jitter_under_the_cap(failures: int, draw: float) -> None:
    backoff = Backoff(initial_seconds=0.2, max_seconds=30.0, max_attempts=6)
    delay = backoff.delay(failures, lambda: draw)
    assert 0 <= delay <= min(30.0, 0.2 * 2 ** (failures - 1))
    assert backoff.honour(3600) == 30.0 and backoff.honour(-1) == 0.0


@pytest.mark.parametrize(
    ("store", "query"),
    [
        ("http://oxigraph:7878/store", "http://oxigraph:7878/query"),
        ("http://fuseki:3030/ds/data", "http://fuseki:3030/ds/query"),
        ("http://fuseki:3030/ds/data/", "http://fuseki:3030/ds/query"),
        (
            "https://gdb.example/repositories/kg/rdf-graphs/service?x=1",
            "https://gdb.example/repositories/kg/rdf-graphs/query",
        ),
        ("http://store:80", "http://store:80/query"),
    ],
)
def test_query_url_is_the_sibling_of_the_store_url(store: str, query: str) -> None:
    assert sibling_query_url(store) == query


@pytest.mark.parametrize(
    "good",
    [
        "cluster1:workload:deployment:default:web",
        "c:node:%C3%A9",
        "a~1",
        "x" * 1024,
        "@:!$&'()*+,;=",
    ],
)
def test_valid_ids(good: str) -> None:
    assert id_problem(good) is None
    assert unquote(id_path_segment(good)) == good
    assert "/" not in id_path_segment(good)


@pytest.mark.parametrize(
    "bad",
    ["", ".", "..", "a/b", "wéb", "a b", "a>b", "a#b", "a?b", "%zz", "%C", "x" * 1025, "\x00"],
)
def test_invalid_ids(bad: str) -> None:
    assert id_problem(bad) is not None


def test_dot_segments_stay_escaped_on_the_wire() -> None:
    assert id_path_segment("..") == "%2E%2E"
    assert id_path_segment(".") == "%2E"


def test_sparql_string_literal_cannot_be_escaped_from() -> None:
    hostile = 'x" ) } ; DROP ALL ; # \\ \n'
    store = ox.Store()
    solutions = store.query(f"SELECT ({string_literal(hostile)} AS ?v) {{}}")
    assert isinstance(solutions, ox.QuerySolutions)
    assert [row["v"].value for row in solutions] == [hostile]


def test_compaction_round_trips_a_workload() -> None:
    document = workload_document()
    compacted = Compactor(context()).document(document_triples(document))
    assert compacted["@context"] == context()
    assert same_graph(compacted, document)
    node = compacted["@graph"][0]
    assert node["@id"].startswith("https://kg-exporter.example.org/")
    assert any(key.startswith("kgx:") for key in node)


def test_compaction_is_deterministic() -> None:
    triples = document_triples(workload_document())
    compactor = Compactor(context())
    assert json.dumps(compactor.document(triples)) == json.dumps(
        compactor.document(list(reversed(triples)))
    )


def test_compaction_never_writes_an_iri_that_would_read_as_a_prefixed_name() -> None:
    compactor = Compactor({"kgx": "https://w3id.org/kg-exporter/vocab#"})
    triple = ox.Triple(
        ox.NamedNode("kgx:not-a-prefix"), ox.NamedNode("https://p.example/p"), ox.Literal("v")
    )
    with pytest.raises(SinkError, match="compact IRI"):
        compactor.document([triple])
    # a suffix starting with // reads as an absolute IRI, so it is left long
    assert Compactor({"h": "https:"}).iri("https://example.org/x") == "https://example.org/x"


def test_a_default_language_does_not_tag_plain_strings() -> None:
    ctx = {"@language": "fr", "ex": "https://ex.org/"}
    triple = ox.Triple(
        ox.NamedNode("https://ex.org/s"), ox.NamedNode("https://ex.org/p"), ox.Literal("v")
    )
    document = Compactor(ctx).document([triple])
    assert document_triples(document) == [triple]


_TERMS = st.sampled_from(
    [
        ox.NamedNode("https://w3id.org/kg-exporter/vocab#a"),
        ox.NamedNode("https://kg-exporter.example.org/c/pod/default/x%C3%A9"),
        ox.NamedNode("urn:x:y"),
        ox.NamedNode("http://www.w3.org/2001/XMLSchema#dateTime"),
    ]
)
_LITERALS = st.one_of(
    st.text(max_size=20).map(ox.Literal),
    st.integers().map(
        lambda i: ox.Literal(
            str(i), datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")
        )
    ),
    st.sampled_from(["en", "fr-be", "ja"]).map(lambda lang: ox.Literal("ü ☃", language=lang)),
    st.just(
        ox.Literal(
            "2024-01-01T00:00:00Z",
            datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#dateTime"),
        )
    ),
)
_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")


@given(
    st.lists(
        st.tuples(_TERMS, st.one_of(_TERMS, st.just(_TYPE)), st.one_of(_TERMS, _LITERALS)),
        min_size=1,
        max_size=12,
    )
)
def test_compaction_round_trips_any_flat_graph(
    rows: list[tuple[ox.NamedNode, ox.NamedNode, ox.NamedNode | ox.Literal]],
) -> None:
    triples = {ox.Triple(s, p, o) for s, p, o in rows}
    document = Compactor(context()).document(triples)
    assert set(document_triples(document)) == triples
