"""Real servers for every sink kind, started once per test session, and sinks talking to them.

Fixtures other tests can use:

- ``sink_urls``: ``{kind: url}`` of the three running servers (session-scoped);
- ``running_sinks``: a list of ``(kind, Sink)`` for all three kinds, fresh per test;
- ``any_sink``: parametrised, one ``(kind, Sink)`` per kind, so a test runs once per kind;
- ``subgraph_sink``, ``graph_store_sink``, ``glaciation_sink``: one kind each.

The servers are shared by the whole session, so a test must use ids of its own: ``unique_prefix``
gives one (``test-<hex>:``).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from kg_exporter.settings import SinkSettings
from kg_exporter.sink import Sink, open_sink
from tests.sink.servers import glaciation_service, oxigraph_server, reference_service

KINDS = ("subgraph", "graph-store", "glaciation")


@pytest.fixture(scope="session")
def sink_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    workdir = tmp_path_factory.mktemp("sink-servers")
    with (
        reference_service(workdir / "reference-store", log=workdir / "reference.log") as reference,
        oxigraph_server(workdir / "oxigraph-store", log=workdir / "oxigraph.log") as oxigraph,
        glaciation_service(log=workdir / "glaciation.log") as glaciation,
    ):
        yield {
            "subgraph": reference.url,
            "graph-store": f"{oxigraph.url}/store",
            "glaciation": glaciation.url,
        }


def sink_settings(kind: str, url: str, **overrides: Any) -> SinkSettings:
    return SinkSettings.model_validate(
        {"kind": kind, "url": url, "max_attempts": 2, "backoff_initial_seconds": 0.01, **overrides}
    )


async def _open(kind: str, urls: dict[str, str]) -> Sink:
    return open_sink(sink_settings(kind, urls[kind]))


@pytest.fixture
def unique_prefix() -> str:
    return f"test-{uuid.uuid4().hex[:12]}:"


@pytest.fixture
async def running_sinks(sink_urls: dict[str, str]) -> AsyncIterator[list[tuple[str, Sink]]]:
    sinks = [(kind, await _open(kind, sink_urls)) for kind in KINDS]
    try:
        yield sinks
    finally:
        for _, sink in sinks:
            await sink.aclose()


@pytest.fixture(params=KINDS)
async def any_sink(
    request: pytest.FixtureRequest, sink_urls: dict[str, str]
) -> AsyncIterator[tuple[str, Sink]]:
    kind = str(request.param)
    sink = await _open(kind, sink_urls)
    try:
        yield kind, sink
    finally:
        await sink.aclose()


@pytest.fixture
async def subgraph_sink(sink_urls: dict[str, str]) -> AsyncIterator[Sink]:
    sink = await _open("subgraph", sink_urls)
    yield sink
    await sink.aclose()


@pytest.fixture
async def graph_store_sink(sink_urls: dict[str, str]) -> AsyncIterator[Sink]:
    sink = await _open("graph-store", sink_urls)
    yield sink
    await sink.aclose()


@pytest.fixture
async def glaciation_sink(sink_urls: dict[str, str]) -> AsyncIterator[Sink]:
    sink = await _open("glaciation", sink_urls)
    yield sink
    await sink.aclose()


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text("first-token\n")
    return path
