"""Fixtures of the end-to-end tests: FakeKube (in process), the Metadata Service and the daemon
(subprocesses). Every process is stopped, and a failing test shows the daemon's log."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.daemon.conftest import BOOKMARK_INTERVAL
from tests.e2e.stack import Daemon, MetadataService
from tests.fakekube import FakeKube

#: The daemon's log must never hold the API server's bearer token.
FAKE_TOKEN = "fake-token"


@pytest.fixture
def fake_kube() -> Iterator[FakeKube]:
    with FakeKube(bookmark_interval=BOOKMARK_INTERVAL) as fake:
        yield fake


@pytest.fixture
def metadata_service(tmp_path: Path) -> Iterator[MetadataService]:
    service = MetadataService(tmp_path / "store", tmp_path / "metadata-service.log")
    service.start()
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture
def start_daemon(
    fake_kube: Any,
    metadata_service: MetadataService,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[Callable[..., Daemon]]:
    started: list[Daemon] = []

    def start(**daemon_settings: Any) -> Daemon:
        daemon = Daemon(
            fake_kube.kubeconfig_path, metadata_service.url, tmp_path, **daemon_settings
        )
        daemon.start()
        started.append(daemon)
        return daemon

    try:
        yield start
    finally:
        for daemon in started:
            daemon.stop()
        log = started[0].log_text() if started else ""
        assert FAKE_TOKEN not in log, "the daemon logged the API token"
        if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
            print(f"--- daemon log ---\n{log[-20000:]}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{report.when}", report)
