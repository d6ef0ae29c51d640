"""Comparing JSON-LD documents as RDF: the triples both parse to, and a readable difference."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyoxigraph as ox


def triples(document: dict[str, Any] | Path) -> set[ox.Triple]:
    data = document.read_bytes() if isinstance(document, Path) else json.dumps(document).encode()
    quads = list(ox.parse(data, format=ox.RdfFormat.JSON_LD))
    assert all(isinstance(q.graph_name, ox.DefaultGraph) for q in quads)
    assert not any(
        isinstance(term, ox.BlankNode) for q in quads for term in (q.subject, q.object)
    ), "the platform's documents name every node; a blank node would make this comparison weak"
    return {q.triple for q in quads}


def assert_isomorphic(ours: dict[str, Any], expected: Path) -> None:
    got, want = triples(ours), triples(expected)
    missing = sorted(str(t) for t in want - got)
    extra = sorted(str(t) for t in got - want)
    assert not missing and not extra, (
        f"{expected.name}: {len(missing)} triples missing, {len(extra)} extra\n"
        + "\n".join(["missing:", *missing[:40], "extra:", *extra[:40]])
    )
