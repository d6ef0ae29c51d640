"""One published GLACIATION Metadata Service for every test of this package that needs one: it
takes seconds to start, and the tests keep apart by the ids and graphs they write."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.daemon.conftest import api, fake_kube  # noqa: F401 (FakeKube and its client, for in-process tests)
from tests.glaciation.service import GlaciationService, running_service


@pytest.fixture(scope="package")
def glaciation_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GlaciationService]:
    with running_service(tmp_path_factory.mktemp("glaciation-service")) as service:
        yield service
