"""Running ``kg-exporter backfill`` in-process and reading what it wrote."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
import yaml

from kg_exporter.backfill.embedded import open_store
from kg_exporter.cli import main
from kg_exporter.render.batch import render_objects
from kg_exporter.render.renderer import Renderer, Subgraph
from tests.conftest import example_objects

#: Subgraphs the example cluster yields: 9 workloads and 3 nodes (two each), the glaciation node.
EXAMPLE_SUBGRAPHS = 42


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


RunBackfill = Callable[..., Run]


@pytest.fixture
def run_backfill(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> RunBackfill:
    """``run_backfill(*args, config={...})``: the CLI's exit code, stdout and stderr."""
    counter = itertools.count()

    def run(*args: str, config: dict[str, Any] | None = None) -> Run:
        argv = ["backfill", *args]
        if config is not None:
            path = tmp_path / f"settings-{next(counter)}.yaml"
            path.write_text(yaml.safe_dump(config))
            argv += ["--config", str(path)]
        code = main(argv)
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


def example_subgraphs(renderer: Renderer) -> dict[str, Subgraph]:
    rendered = render_objects(((o, "t") for o in example_objects()), renderer)
    return {s.id: s for s in rendered if isinstance(s, Subgraph)}


def canonical(document: dict[str, Any]) -> set[str]:
    """The statements of a JSON-LD document in the store's own lexical forms (numbers by value),
    so a document and what a store gives back for it compare equal."""
    import json

    store = ox.Store()
    store.load(json.dumps(document).encode(), format=ox.RdfFormat.JSON_LD)
    text = store.dump(format=ox.RdfFormat.N_QUADS, from_graph=ox.DefaultGraph()) or b""
    return set(text.decode().splitlines())


def stored(store_dir: Path) -> dict[str, dict[str, Any]]:
    """Every subgraph in the embedded store at ``store_dir``, as the store gives it back."""

    async def read() -> dict[str, dict[str, Any]]:
        sink = open_store(store_dir)
        try:
            documents = {}
            for subgraph_id in await sink.list():
                document = await sink.get(subgraph_id)
                assert document is not None
                documents[subgraph_id] = document
            return documents
        finally:
            await sink.aclose()

    return asyncio.run(read())
