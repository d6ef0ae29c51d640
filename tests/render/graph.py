"""Reading rendered documents in tests: find a node by type or id, without caring about order."""

from __future__ import annotations

from typing import Any


def nodes(document: dict[str, Any]) -> list[dict[str, Any]]:
    graph: list[dict[str, Any]] = document["@graph"]
    return graph


def types_of(node: dict[str, Any]) -> list[str]:
    value = node.get("@type", [])
    return [value] if isinstance(value, str) else list(value)


def of_type(document: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    return [n for n in nodes(document) if type_ in types_of(n)]


def one(document: dict[str, Any], type_: str) -> dict[str, Any]:
    found = of_type(document, type_)
    assert len(found) == 1, f"expected one {type_}, found {len(found)}"
    return found[0]


def by_id(document: dict[str, Any], iri: str) -> dict[str, Any]:
    for node in nodes(document):
        if node.get("@id") == iri:
            return node
    raise AssertionError(f"no node {iri}")


def promql(document: dict[str, Any]) -> dict[str, str]:
    return {n["kgx:metricName"]: n["kgx:promql"] for n in of_type(document, "kgx:Metric")}
