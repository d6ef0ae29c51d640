"""Fixtures of the reliability suite: FakeKube (in process), the reference Metadata Service
(subprocess), fault proxies, and ``kg-exporter run`` (subprocess) pointed at either — every
process stopped, and a failing test shows the daemon's log. The measured figures of each test are
printed at the end of the run (``figures``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import FAKE_TOKEN, fake_kube, metadata_service  # noqa: F401
from tests.e2e.stack import Daemon, MetadataService
from tests.reliability.proxy import FaultProxy

FIGURES: dict[str, dict[str, Any]] = {}


class SinkDaemon(Daemon):
    """A :class:`Daemon` whose ``sink:`` settings can be overridden (timeouts, token file)."""

    def __init__(
        self, kubeconfig: Path, sink_url: str, workdir: Path, sink: dict[str, Any], **daemon: Any
    ) -> None:
        super().__init__(kubeconfig, sink_url, workdir, **daemon)
        config_path = Path(self.argv[self.argv.index("--config") + 1])
        config = yaml.safe_load(config_path.read_text())
        config["sink"].update(sink)
        config_path.write_text(yaml.safe_dump(config))

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> dict[str, Any]:
    return FIGURES.setdefault(request.node.name, {})


@pytest.fixture
def proxy(metadata_service: MetadataService) -> Iterator[FaultProxy]:  # noqa: F811
    with FaultProxy(metadata_service.url) as p:
        yield p


@pytest.fixture
def launch(
    fake_kube: Any,  # noqa: F811
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[Callable[..., SinkDaemon]]:
    """``launch(sink_url, sink={...}, **daemon_settings)`` starts a daemon and waits for /readyz
    (for /healthz only with ``ready=False``)."""
    started: list[SinkDaemon] = []

    def start(
        sink_url: str, *, sink: dict[str, Any] | None = None, ready: bool = True, **daemon: Any
    ) -> SinkDaemon:
        d = SinkDaemon(fake_kube.kubeconfig_path, sink_url, tmp_path, sink or {}, **daemon)
        if not ready:
            d.ready_path = "/healthz"
        started.append(d)
        d.start()
        return d

    try:
        yield start
    finally:
        for d in started:
            if d.alive:
                d.stop()
        log = started[0].log_text() if started else ""
        assert FAKE_TOKEN not in log, "the daemon logged the API token"
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            print(f"--- daemon log ---\n{log[-20000:]}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{report.when}", report)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.section("reliability figures")
        for name, values in FIGURES.items():
            if values:
                shown = ", ".join(f"{k}={v}" for k, v in values.items())
                terminalreporter.write_line(f"{name}: {shown}")
