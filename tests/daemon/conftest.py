"""The daemon's stage tests run FakeKube in process (see tests/fakekube/README.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from kubernetes_asyncio.client import ApiClient

from kg_exporter.watch import open_api_client
from tests.fakekube import FakeKube

#: Seconds between BOOKMARKs: often, so that bookmarks interleave with bursts of events in every
#: stage and end-to-end test, as they do against a busy API server.
BOOKMARK_INTERVAL = 0.5


@pytest.fixture
async def api(fake_kube: FakeKube) -> AsyncIterator[ApiClient]:
    """The daemon's own API client (``open_api_client``) on FakeKube's kubeconfig."""
    client = await open_api_client(fake_kube.kubeconfig_path)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def fake_kube() -> Iterator[FakeKube]:
    with FakeKube(bookmark_interval=BOOKMARK_INTERVAL) as fake:
        yield fake
