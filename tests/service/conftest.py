"""The reference Metadata Service in-process on a real socket (most tests), or as a subprocess
(restarts, SIGKILL, concurrency from another process): see ``tests.sink.servers``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from aiohttp.test_utils import TestServer
from prometheus_client import CollectorRegistry

from kg_exporter.service import SubgraphStore, create_app
from kg_exporter.sink import TokenFile

TOKEN = "s3cret-token"


@dataclass
class Running:
    url: str
    store: SubgraphStore
    registry: CollectorRegistry
    client: httpx.AsyncClient


async def _running(
    store: SubgraphStore, token_file: Path | None, max_body_bytes: int = 4 * 1024 * 1024
) -> AsyncIterator[Running]:
    registry = CollectorRegistry()
    app = create_app(
        store,
        token=TokenFile(token_file) if token_file is not None else None,
        registry=registry,
        max_body_bytes=max_body_bytes,
    )
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    url = f"http://127.0.0.1:{server.port}"
    headers = {"Authorization": f"Bearer {TOKEN}"} if token_file is not None else {}
    client = httpx.AsyncClient(base_url=url, headers=headers, timeout=30)
    try:
        yield Running(url, store, registry, client)
    finally:
        # The client first: a connection it keeps alive would hold the server's close.
        await client.aclose()
        await server.close()
        store.close()


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[Running]:
    """The service over an on-disk store, without a token."""
    async for running in _running(SubgraphStore.open(str(tmp_path / "store")), None):
        yield running


@pytest.fixture
def token_path(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    return path


@pytest.fixture
async def guarded(tmp_path: Path, token_path: Path) -> AsyncIterator[Running]:
    """The service with a bearer token; its client sends the right one."""
    async for running in _running(SubgraphStore.open(str(tmp_path / "store")), token_path):
        yield running


@pytest.fixture
async def guarded_in_memory(token_path: Path) -> AsyncIterator[Running]:
    """As ``guarded``, over an in-memory store: it holds no files open, for tests run many times
    (an on-disk store's files stay open until the process ends)."""
    async for running in _running(SubgraphStore.open(":memory:"), token_path):
        yield running
