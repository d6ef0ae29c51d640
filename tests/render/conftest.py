"""The Prometheus the pod-matcher modules share (one start and two scrapes instead of one each)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.render.scrape import registered_series, scraping
from tests.support.prometheus import Prometheus


@pytest.fixture(scope="session")
def pods_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    """A Prometheus that has scraped what every collected pod-matcher module registered."""
    with scraping(tmp_path_factory.mktemp("prometheus"), registered_series()) as prometheus:
        yield prometheus
