"""The bundled vocabulary and SHACL shapes, parsed once per process."""

from __future__ import annotations

from functools import cache

import rdflib
from rdflib.namespace import RDFS

from kg_exporter import resources

KGX = rdflib.Namespace("https://w3id.org/kg-exporter/vocab#")
GLC = rdflib.Namespace("https://glaciation-project.eu/MetadataReferenceModel#")
K8S = rdflib.Namespace("https://glaciation-project.eu/MetadataReferenceModel/kubernetes#")
DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")
QUDT = rdflib.Namespace("http://qudt.org/schema/qudt/")
SH = rdflib.Namespace("http://www.w3.org/ns/shacl#")

VOCABULARY_FILE = "kgx.ttl"
SHAPES_FILE = "shapes.ttl"


def _parse(name: str) -> rdflib.Graph:
    graph = rdflib.Graph()
    graph.parse(resources.ontology_dir() / name, format="turtle")
    return graph


@cache
def vocabulary() -> rdflib.Graph:
    """``ontology/kgx.ttl``. Shared: do not modify."""
    return _parse(VOCABULARY_FILE)


@cache
def shapes() -> rdflib.Graph:
    """``ontology/shapes.ttl``. Shared: do not modify."""
    return _parse(SHAPES_FILE)


@cache
def declared_terms() -> frozenset[rdflib.URIRef]:
    """kgx: terms the vocabulary declares with both an ``rdfs:label`` and an ``rdfs:comment``."""
    graph = vocabulary()
    return frozenset(
        term
        for term in graph.subjects(RDFS.label, None)
        if isinstance(term, rdflib.URIRef)
        and term.startswith(str(KGX))
        and graph.value(term, RDFS.comment) is not None
    )


@cache
def prefixes() -> tuple[tuple[str, str], ...]:
    """(prefix, namespace) pairs of the product's JSON-LD context, longest namespace first."""
    context = resources.context()
    pairs = [
        (name, value)
        for name, value in context.items()
        if not name.startswith("@") and isinstance(value, str)
    ]
    # rdf: is implied by JSON-LD (@type) rather than declared, but reports name it.
    pairs.append(("rdf", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"))
    return tuple(sorted(pairs, key=lambda pair: -len(pair[1])))


def shorten(iri: str) -> str:
    """``kgx:name`` for an IRI under a context prefix, else ``<iri>``."""
    for prefix, namespace in prefixes():
        if iri.startswith(namespace) and len(iri) > len(namespace):
            return f"{prefix}:{iri[len(namespace) :]}"
    return f"<{iri}>"
