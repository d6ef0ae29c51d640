"""Small SPARQL helpers for the sinks that talk SPARQL: literals, and reading SPARQL-JSON results."""

from __future__ import annotations

from typing import Any

import pyoxigraph as ox

from kg_exporter.errors import SinkError

Term = ox.NamedNode | ox.BlankNode | ox.Literal


def string_literal(value: str) -> str:
    """``value`` as a SPARQL string literal, escaped so no input can end it early."""
    escaped = (
        value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    )
    return f'"{escaped}"'


def bindings(results: Any, what: str) -> list[dict[str, Any]]:
    """The ``results.bindings`` of a SPARQL-JSON SELECT answer, checked for shape."""
    rows = results.get("results", {}).get("bindings") if isinstance(results, dict) else None
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise SinkError(f"{what}: the answer is not SPARQL JSON results")
    return rows


def term(binding: Any, what: str) -> Term:
    """The RDF term of one SPARQL-JSON binding."""
    if not isinstance(binding, dict) or not isinstance(binding.get("value"), str):
        raise SinkError(f"{what}: malformed binding {binding!r}")
    kind = binding.get("type")
    value = binding["value"]
    try:
        if kind == "uri":
            return ox.NamedNode(value)
        if kind == "bnode":
            return ox.BlankNode(value)
        if kind in ("literal", "typed-literal"):
            if "xml:lang" in binding:
                return ox.Literal(value, language=binding["xml:lang"])
            if "datatype" in binding:
                return ox.Literal(value, datatype=ox.NamedNode(binding["datatype"]))
            return ox.Literal(value)
    except ValueError as exc:
        raise SinkError(f"{what}: invalid term in binding {binding!r}: {exc}") from exc
    raise SinkError(f"{what}: unknown binding type {kind!r}")
