"""Every subgraph of the bundled example cluster and of the render fixtures: expands offline with
pyld (a loader that refuses every URL), parses with rdflib, conforms to the SHACL shapes."""

from __future__ import annotations

import pytest
from pyld import jsonld

from kg_exporter.render.batch import Skipped, render_objects
from kg_exporter.render.renderer import Renderer, Subgraph
from kg_exporter.settings import load_settings
from kg_exporter.validate import assert_valid, refusing_loader, to_graph
from tests.conftest import example_objects
from tests.render import fixtures as f


def rendered(renderer: Renderer) -> list[Subgraph]:
    objects = [
        *example_objects(),
        f.deployment(name="fixture-web", availableReplicas=1), f.deployment(name="idle"),
        f.statefulset(), f.job(active=1),
        f.job(name="done", startTime="2026-11-20T02:00:05Z",
              conditions=[{"type": "Complete", "status": "True"}]),
        f.node(name="fixture-node", gpus=2),
    ]  # fmt: skip
    return [
        s
        for s in render_objects(((o, "t") for o in objects), renderer)
        if not isinstance(s, Skipped)
    ]


SUBGRAPHS = {s.id: s for s in rendered(Renderer(load_settings()))}


def test_examples_and_fixtures_yield_every_subgraph() -> None:
    # examples: 9 workloads of the built-in kinds and 8 of examples/kinds (a JobSet's Jobs, a
    # MetricSet's JobSet... folded in), 3 nodes, 1 glaciation node; fixtures: 5 workloads, 1 node
    assert len(SUBGRAPHS) == 2 * (9 + 8 + 3 + 1) + 2 * (5 + 1)


@pytest.mark.parametrize("subgraph_id", sorted(SUBGRAPHS))
def test_each_subgraph_conforms(subgraph_id: str) -> None:
    subgraph = SUBGRAPHS[subgraph_id]
    expanded = jsonld.expand(subgraph.document, {"documentLoader": refusing_loader})
    assert expanded
    assert len(to_graph(subgraph.document)) > 10
    assert_valid(subgraph)
