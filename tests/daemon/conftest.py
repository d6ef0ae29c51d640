"""The daemon's stage tests run FakeKube in process (see tests/fakekube/README.md)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakekube import FakeKube

#: Seconds between BOOKMARKs: often, so that bookmarks interleave with bursts of events in every
#: stage and end-to-end test, as they do against a busy API server.
BOOKMARK_INTERVAL = 0.5


@pytest.fixture
def fake_kube() -> Iterator[FakeKube]:
    with FakeKube(bookmark_interval=BOOKMARK_INTERVAL) as fake:
        yield fake
