"""SHACL validation results → one readable line each: ``focus node — path — message``.

pyshacl's own messages repeat the focus node and the path and name constraint components; these
lines say what is wrong in a template author's terms (``missing``, ``not one of``, ``must be an
IRI``).
"""

from __future__ import annotations

import re

import rdflib
from rdflib.collection import Collection
from rdflib.namespace import RDF, XSD

from kg_exporter.validate.ontology import SH, prefixes, shorten

NO_PATH = "(the node itself)"


def show(term: object) -> str:
    """A term as a reader wants it: ``kgx:name``, ``<https://…>``, ``"text"``, ``"1"^^xsd:int``."""
    if isinstance(term, rdflib.URIRef):
        return shorten(str(term))
    if isinstance(term, rdflib.Literal):
        text = str(term)
        if len(text) > 120:
            text = text[:117] + "..."
        quoted = '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
        if term.language:
            return f"{quoted}@{term.language}"
        if term.datatype is not None and term.datatype != XSD.string:
            return f"{quoted}^^{shorten(str(term.datatype))}"
        return quoted
    if isinstance(term, rdflib.BNode):
        return "a blank node"
    return str(term)


def shorten_in(text: str) -> str:
    """Every context-prefixed IRI inside ``text`` (a message pyshacl filled in) as a CURIE."""
    for prefix, namespace in prefixes():
        text = re.sub(re.escape(namespace) + r"([A-Za-z0-9_.-]+)", prefix + r":\1", text)
    return text


def _node_kind(shapes: rdflib.Graph, shape: rdflib.term.Node | None) -> str:
    kind = shapes.value(shape, SH.nodeKind) if shape is not None else None
    if kind == SH.IRI:
        return 'an IRI ({"@id": ...})'
    return "a literal" if kind == SH.Literal else f"of node kind {show(kind)}"


def show_path(shapes: rdflib.Graph, path: rdflib.term.Node | None) -> str:
    if path is None:
        return NO_PATH
    if isinstance(path, rdflib.URIRef):
        return shorten(str(path))
    inverse = shapes.value(path, SH.inversePath)
    if inverse is not None:
        return "^" + show(inverse)
    return show(path)


def _param(shapes: rdflib.Graph, shape: rdflib.term.Node | None, name: str) -> str:
    if shape is None:
        return "?"
    value = shapes.value(shape, SH[name])
    if value is None:
        return "?"
    if name == "in":
        return "(" + " ".join(show(v) for v in Collection(shapes, value)) + ")"
    return str(value) if name in {"minCount", "maxCount", "minLength"} else show(value)


def _explain(
    shapes: rdflib.Graph,
    component: rdflib.term.Node | None,
    shape: rdflib.term.Node | None,
    value: str,
) -> str | None:
    def p(name: str) -> str:
        return _param(shapes, shape, name)

    plural = "" if p("minCount") == "1" else "s"
    texts = {
        SH.MinCountConstraintComponent: f"missing: at least {p('minCount')} value{plural} required",
        SH.MaxCountConstraintComponent: f"too many values: at most {p('maxCount')} allowed",
        SH.DatatypeConstraintComponent: f"{value} is not a valid {p('datatype')}",
        SH.InConstraintComponent: f"{value} is not one of {p('in')}",
        SH.NodeKindConstraintComponent: f"{value} must be {_node_kind(shapes, shape)}",
        SH.ClassConstraintComponent: f"{value} must be typed {p('class')} in this subgraph",
        SH.PatternConstraintComponent: f"{value} does not match the pattern {p('pattern')}",
        SH.HasValueConstraintComponent: f"must have the value {p('hasValue')}",
        SH.MinLengthConstraintComponent: f"{value} is shorter than {p('minLength')} character(s)",
        SH.MinInclusiveConstraintComponent: f"{value} is less than {p('minInclusive')}",
    }
    return texts.get(component) if isinstance(component, rdflib.URIRef) else None


def result_lines(results: rdflib.Graph, shapes: rdflib.Graph) -> list[str]:
    """One line per validation result in pyshacl's results graph, sorted."""
    lines = set()
    for result in results.subjects(RDF.type, SH.ValidationResult):
        focus = results.value(result, SH.focusNode)
        path = results.value(result, SH.resultPath)
        value = results.value(result, SH.value)
        shape = results.value(result, SH.sourceShape)
        component = results.value(result, SH.sourceConstraintComponent)
        own = shape is not None and shapes.value(shape, SH.message) is not None
        message = None if own else _explain(shapes, component, shape, show(value))
        if message is None:
            message = shorten_in(str(results.value(result, SH.resultMessage) or "does not conform"))
        lines.add(f"{show(focus)} — {show_path(shapes, path)} — {message}")
    return sorted(lines)
