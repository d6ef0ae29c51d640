"""kg_exporter.flatld says what pyoxigraph's JSON-LD parser says, or nothing: on every subgraph the
templates render, on hostile values, and on random documents built from awkward pieces."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import orjson
import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kg_exporter.flatld import to_ntriples
from kg_exporter.ntriples import from_json_ld, of_document
from tests.render import fixtures as f
from tests.render.test_examples_conform import SUBGRAPHS
from tests.render.test_hostile import HOSTILE, RENDERER, hostile_deployment

CONTEXT = {
    "@version": 1.1,
    "ex": "http://example.org/vocab#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "name": "http://example.org/vocab#name",
}


def pyoxigraph_lines(document: Any) -> Counter[bytes]:
    body = orjson.dumps(document)
    statements = ox.serialize(
        ox.parse(body, format=ox.RdfFormat.JSON_LD), format=ox.RdfFormat.N_TRIPLES
    )
    return Counter((statements or b"").splitlines())


def assert_same_or_outside(document: Any) -> bool:
    """True when the document was in the profile (and then equal to pyoxigraph's output)."""
    ours = to_ntriples(document)
    if ours is None:
        return False
    assert Counter(ours.splitlines()) == pyoxigraph_lines(document)
    return True


@pytest.mark.parametrize("subgraph_id", sorted(SUBGRAPHS))
def test_every_rendered_subgraph_is_in_the_profile_and_reads_the_same(subgraph_id: str) -> None:
    document = SUBGRAPHS[subgraph_id].document
    assert assert_same_or_outside(document), "a rendered subgraph fell outside the flat profile"


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(HOSTILE, HOSTILE, HOSTILE, HOSTILE)
def test_hostile_values_read_the_same(name: str, namespace: str, label: str, note: str) -> None:
    workload, telemetry = RENDERER.workload(hostile_deployment(name, namespace, label, note))
    node = f.node(name=name)
    node["metadata"]["labels"] = {"zone": label}
    for subgraph in (workload, telemetry, *RENDERER.node(node)):
        assert_same_or_outside(subgraph.document)


def node(**properties: Any) -> dict[str, Any]:
    return {"@context": CONTEXT, "@id": "http://example.org/a", **properties}


@pytest.mark.parametrize(
    "document",
    [
        node(**{"ex:p": None}),  # null drops the property: left to the parser
        node(**{"ex:p": {"@list": ["a"]}}),
        node(**{"ex:p": {"ex:q": "a blank node"}}),
        node(**{"ex:p": {"@value": "chat", "@language": "fr"}}),
        node(**{"ex:p": {"@value": 5, "@type": "xsd:long"}}),
        node(**{"ex:p": [["nested"]]}),
        node(**{"ex:p": 2**60}),
        node(**{"ex:p": 1e300}),
        node(**{"ex:p": {"@id": "relative/iri"}}),
        node(**{"ex:p": {"@id": "_:b0"}}),
        node(**{"ex:p": {"@id": "http://a b"}}),
        node(**{"ex:p": {"@id": "http://example.org/a/../b"}}),
        node(**{"ex:p": {"@id": "http://user@example.org/"}}),
        node(**{"ex:p": {"@id": "http://[::1]/"}}),
        node(**{"ex:p": {"@id": "http://example.org/é"}}),
        node(**{"@reverse": {"ex:p": {"@id": "http://example.org/b"}}}),
        node(**{"unknown": "a term the context does not define"}),
        {"@context": {**CONTEXT, "@vocab": "http://example.org/"}, "@id": "http://a", "p": "x"},
        {"@context": {**CONTEXT, "@base": "http://example.org/"}, "@id": "a", "ex:p": "x"},
        {"@context": "http://example.org/context.jsonld", "@id": "http://a", "ex:p": "x"},
        {"@context": [CONTEXT], "@id": "http://a", "ex:p": "x"},
        {"@context": {"ex": {"@id": "http://example.org/", "@prefix": True}}, "@id": "http://a"},
        {"@context": CONTEXT, "@id": "http://g", "@graph": [node(**{"ex:p": "x"})]},
        {"@context": CONTEXT, "@graph": [{"ex:p": "no @id: a blank node"}]},
        node(**{"ex:p": "lone surrogate \ud800"}),
    ],
    ids=repr,
)
def test_documents_outside_the_profile_are_left_to_the_parser(document: Any) -> None:
    assert to_ntriples(document) is None


def test_what_the_profile_holds_reads_the_same() -> None:
    document = {
        "@context": CONTEXT,
        "@graph": [
            {
                "@id": "ex:a",
                "@type": ["ex:T", "http://example.org/U"],
                "name": 'quote " backslash \\ newline \n tab \t nul \x00 del \x7f é \u2028',
                "ex:flag": [True, False],
                "ex:int": [0, -7, 2**53 - 1],
                "ex:float": [0.25, 2.0, -0.0, 1.5e-7, 123456.789, 5e-324, -2.5e-300],
                "ex:typed": {"@value": "2026-12-02T00:00:00Z", "@type": "xsd:dateTime"},
                "ex:string": [{"@value": "plain"}, {"@value": "s", "@type": "xsd:string"}],
                "ex:ref": [
                    {"@id": "ex:b"},
                    {"@id": "urn:uuid:1234"},
                    {"@id": "http://h:8080/p?q#f"},
                ],
                "ex:embedded": {"@id": "ex:c", "@type": "ex:T", "ex:p": "inner"},
                "ex:empty": [],
                "ex:dup": ["same", "same"],
            },
            {"@id": "ex:only-an-id"},
        ],
    }
    assert assert_same_or_outside(document)


@settings(max_examples=300, deadline=None)
@given(value=st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(2**70), 2**70))
def test_numbers_read_the_same(value: float) -> None:
    assert_same_or_outside(node(**{"ex:n": value}))


# Pieces of IRIs that are valid, invalid, or valid in ways a naive check misreads.
IRI_PIECES = [
    "http://", "https://", "urn:", "ex:", "name", "_:", "//", "/", "a", "Z", "9", "-", ".", "..",
    "~", "%", "%2F", "%zz", "%4", ":", "@", "?", "#", "[", "]", "!", "$", "&", "'", "(", "*", "+",
    ",", ";", "=", " ", "<", ">", '"', "{", "|", "\\", "^", "`", "é", "\u2028", "\x00",
]  # fmt: skip
LITERAL_PIECES = [
    "a",
    '"',
    "\\",
    "\n",
    "\r",
    "\t",
    "\b",
    "\f",
    "\x0b",
    "\x00",
    "\x7f",
    "é",
    "€",
    "😀",
]


def random_iri(rng: random.Random) -> str:
    return "".join(rng.choice(IRI_PIECES) for _ in range(rng.randint(1, 7)))


def some_iri(rng: random.Random) -> str:
    """Mostly IRIs of the profile, sometimes anything (random_iri)."""
    if rng.random() < 0.15:
        return random_iri(rng)
    return rng.choice(["ex:n", "http://example.org/n", "urn:x:y", "ex:a/b?c=d#e", "name"])


def random_value(rng: random.Random, depth: int = 0) -> Any:
    pick = rng.randrange(10)
    if pick == 0:
        return "".join(rng.choice(LITERAL_PIECES) for _ in range(rng.randint(0, 6)))
    if pick == 1:
        return rng.choice([True, False, None, 0, -3, 2**53, 0.5, 1e22, -2.5e-9])
    if pick == 2:
        return {"@id": some_iri(rng)}
    if pick == 3:
        return {"@value": "v", "@type": rng.choice(["xsd:date", "ex:dt", some_iri(rng)])}
    if pick == 4 and depth < 2:
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if pick == 5 and depth < 2:
        return random_node(rng, depth + 1)
    return rng.choice(["x", {"@id": "ex:b"}, {"@id": "http://example.org/c?d=e#f"}, 42])


def random_node(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    result: dict[str, Any] = {"@id": some_iri(rng)}
    if rng.random() < 0.5:
        result["@type"] = rng.choice(["ex:T", [some_iri(rng), "ex:U"], some_iri(rng)])
    for _ in range(rng.randint(0, 4)):
        key = rng.choice(["ex:p", "name", "http://example.org/q", some_iri(rng)])
        result[key] = random_value(rng, depth)
    return result


def test_random_documents_read_the_same_or_are_left_to_the_parser() -> None:
    rng = random.Random(20261202)
    accepted = 0
    for _ in range(3000):
        document = {
            "@context": CONTEXT,
            "@graph": [random_node(rng) for _ in range(rng.randint(1, 3))],
        }
        accepted += assert_same_or_outside(document)
    # The profile must hold a fair share of them, or this test proves nothing.
    assert accepted > 300, (
        accepted
    )  # ~400: one piece outside the profile leaves the whole document out


def test_random_iris_read_the_same_or_are_left_to_the_parser() -> None:
    rng = random.Random(7)
    accepted = 0
    for _ in range(20000):
        iri = random_iri(rng)
        accepted += assert_same_or_outside(node(**{"ex:p": {"@id": iri}, iri: "x"}))
    assert accepted > 500, accepted


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(HOSTILE, st.sampled_from(["@import", "@annotation", "\\u0040id", "\x01", "\x7f", "x"]))
def test_of_document_says_what_pyoxigraph_says_even_with_keywords_in_strings(
    label: str, word: str
) -> None:
    workload, telemetry = RENDERER.workload(hostile_deployment("web", "shop", label + word, word))
    for subgraph in (workload, telemetry):
        ours = of_document(subgraph.document)
        assert ours is not None  # a rendered document is flat whatever its strings hold
        assert Counter(ours.splitlines()) == pyoxigraph_lines(subgraph.document)


def test_of_document_leaves_to_pyoxigraph_what_is_not_flat() -> None:
    document = node(**{"ex:p": {"@value": "chat", "@language": "fr"}})
    assert of_document(document) == from_json_ld(orjson.dumps(document))
    assert of_document(node(**{"@import": "http://example.org/c"})) is None


def test_what_is_remembered_stays_bounded_whatever_the_documents() -> None:
    # The Metadata Service reads documents from anyone: long IRIs and many contexts must not pile
    # up in the caches that make rendered documents cheap.
    from kg_exporter import flatld

    for n in range(200):
        context = {**CONTEXT, f"t{n}": "http://example.org/t#"}
        for m in range(30):
            long_iri = f"http://example.org/{n}/{m}/" + "x" * 10_000
            assert to_ntriples({"@context": context, "@id": long_iri, "ex:p": {"@id": long_iri}})
    assert len(flatld._CONTEXTS) <= flatld._MAX_CONTEXTS
    for known in flatld._CONTEXTS.values():
        assert len(known.ids) <= flatld._MAX_IRIS and len(known.vocab) <= flatld._MAX_IRIS
        assert all(len(iri) <= flatld._MAX_REMEMBERED_CHARS for iri in known.ids.values())


def test_max_chars_bounds_what_is_built() -> None:
    document = node(**{"ex:p": [f"value {i}" for i in range(100)]})
    full = to_ntriples(document)
    assert full is not None
    assert to_ntriples(document, max_chars=len(full.decode())) == full
    assert to_ntriples(document, max_chars=len(full.decode()) - 1) is None
