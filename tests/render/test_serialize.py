"""The byte forms of rendered subgraphs (render/serialize.py) say exactly what the documents say:
the same statements rdflib's offline JSON-LD reading finds, in the subgraph's named graph."""

from __future__ import annotations

import json

import pytest
import rdflib

from kg_exporter.errors import RenderError
from kg_exporter.identity import subgraph_graph_iri
from kg_exporter.manifests import Manifest, read_manifests
from kg_exporter.render import serialize
from kg_exporter.render.batch import render_objects
from kg_exporter.render.renderer import Renderer, Subgraph
from kg_exporter.resources import context
from kg_exporter.settings import load_settings
from kg_exporter.validate import to_graph
from tests.conftest import EXAMPLES
from tests.render import fixtures as f


def example_subgraphs() -> list[Subgraph]:
    objects = [(m.obj, m.where) for m in read_manifests([EXAMPLES]) if isinstance(m, Manifest)]
    rendered = render_objects(objects, Renderer(load_settings()))
    return [s for s in rendered if isinstance(s, Subgraph)]


def by_value(graph: rdflib.Graph) -> set[tuple[object, ...]]:
    """The statements with literals as values: pyoxigraph writes numbers and times in canonical
    form ("2.5E-1" as "0.25"), which is the same RDF value. The examples hold no blank nodes."""
    return {
        tuple(
            (term.datatype, term.toPython()) if isinstance(term, rdflib.Literal) else term
            for term in triple
        )
        for triple in graph
    }


def test_nquads_hold_what_the_documents_say_in_their_own_graph() -> None:
    subgraphs = example_subgraphs()
    assert len(subgraphs) == 42
    for subgraph in subgraphs:
        dataset = rdflib.Dataset()
        dataset.parse(data=serialize.nquads(subgraph.id, subgraph.document), format="nquads")
        graph_iri = rdflib.URIRef(subgraph_graph_iri(subgraph.id))
        assert {g.identifier for g in dataset.graphs() if len(g)} == {graph_iri}, subgraph.id
        assert by_value(dataset.graph(graph_iri)) == by_value(to_graph(subgraph.document))


def test_turtle_holds_what_the_documents_say() -> None:
    prefixes = serialize.context_prefixes(context())
    assert prefixes["kgx"] == "https://w3id.org/kg-exporter/vocab#"
    for subgraph in example_subgraphs():
        text = serialize.turtle(subgraph.document, prefixes).decode()
        assert "@prefix kgx: <https://w3id.org/kg-exporter/vocab#> ." in text
        parsed = rdflib.Graph().parse(data=text, format="turtle")
        assert by_value(parsed) == by_value(to_graph(subgraph.document)), subgraph.id


def test_a_literal_that_looks_like_a_line_end_stays_one_literal() -> None:
    # The graph name goes in by replacing each line's " ." + newline: a value holding " ." and a
    # newline must come out as the same literal, in the graph, not split.
    tricky = 'a .\nb <x> .\n" .'
    subgraph = Renderer(load_settings()).workload(f.deployment(name="web", **{}))[0]
    document = json.loads(json.dumps(subgraph.document))
    document["@graph"][0]["kgx:note"] = tricky
    document["@context"]["kgx:note"] = {"@id": "https://w3id.org/kg-exporter/vocab#note"}
    dataset = rdflib.Dataset()
    dataset.parse(data=serialize.nquads(subgraph.id, document), format="nquads")
    graph = dataset.graph(rdflib.URIRef(subgraph_graph_iri(subgraph.id)))
    notes = list(graph.objects(None, rdflib.URIRef("https://w3id.org/kg-exporter/vocab#note")))
    assert notes == [rdflib.Literal(tricky)]
    assert len(graph) == len(to_graph(document))


def test_pretty_json_is_what_the_standard_library_writes() -> None:
    for subgraph in example_subgraphs():
        expected = json.dumps(subgraph.document, ensure_ascii=False, indent=2) + "\n"
        assert serialize.pretty_json(subgraph.document) == expected.encode()
        assert json.loads(serialize.compact_json(subgraph.document)) == subgraph.document


def test_a_document_that_is_not_json_ld_is_a_render_error() -> None:
    with pytest.raises(RenderError, match="not valid JSON-LD"):
        serialize.nquads("x", {"@context": 5, "@graph": []})
