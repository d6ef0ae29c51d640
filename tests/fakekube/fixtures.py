"""pytest fixtures for the fake API server.

Use from a conftest: ``pytest_plugins = ["tests.fakekube.fixtures"]`` (top-level conftest), or
``from tests.fakekube.fixtures import fake_kube  # noqa: F401``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .control import FakeKube


@pytest.fixture
def fake_kube() -> Iterator[FakeKube]:
    """A started FakeKube (1 s bookmarks, no default watch timeout); always stopped after."""
    fake = FakeKube()
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()
