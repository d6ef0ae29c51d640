"""Every subgraph rendered from the representative objects is readable offline and conforms."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pyld import jsonld

from kg_exporter.identity import SubgraphKind
from kg_exporter.render.renderer import Renderer, Subgraph
from kg_exporter.validate import assert_valid, refusing_loader, to_graph, validate_document
from tests.validate.objects import cases, render_all

CASES = cases()


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_subgraph_conforms(renderer: Renderer, name: str) -> None:
    make: Callable[[Renderer], tuple[Subgraph, ...]] = CASES[name]
    for subgraph in make(renderer):
        assert_valid(subgraph)


def test_the_cases_cover_all_six_kinds(renderer: Renderer) -> None:
    assert {s.kind for s in render_all(renderer)} == set(SubgraphKind)


def test_documents_expand_with_the_refusing_loader(renderer: Renderer) -> None:
    for subgraph in render_all(renderer):
        expanded = jsonld.expand(subgraph.document, {"documentLoader": refusing_loader})
        assert expanded, subgraph.id
        graph = to_graph(subgraph.document)
        assert len(graph) > 0


def test_a_report_is_a_frozen_value(renderer: Renderer) -> None:
    workload, _ = CASES["deployment"](renderer)
    report = validate_document(workload.document, kind=workload.kind)
    assert report.conforms and report.messages == []
    assert str(report) == "conforms"
    with pytest.raises(AttributeError):
        report.conforms = False  # type: ignore[misc]


def test_stopped_job_states_end_and_outcome(renderer: Renderer) -> None:
    workload, _ = CASES["job-failed"](renderer)
    graph = to_graph(workload.document)
    values = {str(p).rsplit("#", 1)[-1]: str(o) for _, p, o in graph}
    assert values["phase"] == "stopped"
    assert values["outcome"] == "failed"
    assert values["endTime"] == "2026-03-01T09:05:00Z"
