"""The daemon's stage tests run FakeKube in process (see tests/fakekube/README.md)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakekube import FakeKube

#: Seconds between BOOKMARKs. Effectively off: FakeKube's watch pump spins without sending
#: anything once a bookmark falls due while events are still queued (a burst), which would hang
#: these tests at random. Bookmarks have their own low-traffic test in test_watch.py.
NO_BOOKMARKS = 3600.0


@pytest.fixture
def fake_kube() -> Iterator[FakeKube]:
    with FakeKube(bookmark_interval=NO_BOOKMARKS) as fake:
        yield fake
