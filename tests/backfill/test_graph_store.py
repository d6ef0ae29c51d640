"""Backfill into a real ``oxigraph serve`` through the ``graph-store`` sink, whose batches are
SPARQL Updates: every subgraph lands as rendered, and the report tells new from replaced."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from kg_exporter.render.renderer import Renderer
from kg_exporter.settings import SinkSettings
from kg_exporter.sink import open_sink
from tests.backfill.conftest import EXAMPLE_SUBGRAPHS, RunBackfill, canonical, example_subgraphs
from tests.conftest import EXAMPLES
from tests.sink.servers import oxigraph_server


def everything(store_url: str) -> dict[str, dict[str, Any]]:
    async def read() -> dict[str, dict[str, Any]]:
        sink = open_sink(SinkSettings.model_validate({"kind": "graph-store", "url": store_url}))
        try:
            return {i: await sink.get(i) or {} for i in await sink.list()}
        finally:
            await sink.aclose()

    return asyncio.run(read())


def totals(out: str) -> list[int]:
    """The report's total row: written, of which new, unchanged, failed."""
    row = next(line for line in out.splitlines() if line.startswith("total "))
    return [int(cell) for cell in row.split()[1:]]


def test_examples_into_oxigraph_serve_in_batches_twice(
    run_backfill: RunBackfill, tmp_path: Path, renderer: Renderer
) -> None:
    with oxigraph_server(tmp_path / "oxigraph", log=tmp_path / "oxigraph.log") as server:
        store = f"{server.url}/store"
        config = {"sink": {"kind": "graph-store"}}
        first = run_backfill("--manifests", str(EXAMPLES), "--sink", store, config=config)
        assert first.code == 0, first.err
        assert f"{EXAMPLE_SUBGRAPHS} written, 0 unchanged, 0 failed" in first.out
        assert totals(first.out) == [EXAMPLE_SUBGRAPHS, EXAMPLE_SUBGRAPHS, 0, 0], first.out
        written = everything(store)
        expected = example_subgraphs(renderer)
        assert set(written) == set(expected)
        for subgraph_id, subgraph in expected.items():
            assert canonical(written[subgraph_id]) == canonical(subgraph.document)
        # A Graph Store cannot tell unchanged: all replaced, none new, the same statements.
        again = run_backfill("--manifests", str(EXAMPLES), "--sink", store, config=config)
        assert again.code == 0, again.err
        assert totals(again.out) == [EXAMPLE_SUBGRAPHS, 0, 0, 0], again.out
        assert everything(store) == written
