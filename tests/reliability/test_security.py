"""Bearer token rotation between ``kg-exporter run`` and a Metadata Service that requires a token:
the token files are replaced while both run; no token ever appears in a log line or a document."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.stack import MetadataService
from tests.fakekube import FakeKube
from tests.reliability.conftest import SinkDaemon
from tests.reliability.truth import Churn, compare, settle


def canary() -> str:
    return "canary-" + secrets.token_hex(16)


def replace(path: Path, token: str) -> None:
    """As a Kubernetes Secret volume does: a new file renamed over the old one."""
    fresh = path.with_suffix(".new")
    fresh.write_text(token + "\n")
    os.replace(fresh, path)


class Tokens:
    def __init__(self, tmp_path: Path) -> None:
        self.first = canary()
        self.service_file = tmp_path / "service-token"
        self.daemon_file = tmp_path / "daemon-token"
        replace(self.service_file, self.first)
        replace(self.daemon_file, self.first)


@pytest.fixture
def tokens(tmp_path: Path) -> Tokens:
    return Tokens(tmp_path)


@pytest.fixture
def guarded_service(tmp_path: Path, tokens: Tokens) -> Iterator[MetadataService]:
    service = MetadataService(tmp_path / "guarded-store", tmp_path / "guarded-service.log")
    service.argv += ["--token-file", str(tokens.service_file)]
    service.start()
    try:
        yield service
    finally:
        service.stop()


def leaks(paths: list[Path], secrets_: list[str]) -> list[str]:
    found = []
    for path in paths:
        text = path.read_text(errors="replace") if path.exists() else ""
        found += [f"{s} in {path.name}" for s in secrets_ if s in text]
    return found


def documents_text(ms: MetadataService, token: str) -> str:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=ms.url, timeout=10, headers=headers) as client:
        ids = client.get("/subgraph", params={"prefix": "cluster1:"}).json()
        return "\n".join(client.get(f"/subgraph/{i}").text for i in ids)


def test_token_rotated_while_running_no_restart_and_never_logged(
    fake_kube: FakeKube,
    guarded_service: MetadataService,
    tokens: Tokens,
    tmp_path: Path,
    launch: Callable[..., SinkDaemon],
    figures: dict[str, object],
) -> None:
    ms = guarded_service
    churn = Churn(fake_kube, deployments=30, jobs=5, seed=401)
    churn.create_all()
    daemon = launch(ms.url, sink={"token_file": str(tokens.daemon_file)})
    settle(ms, fake_kube, churn, within=30, token=tokens.first)
    assert httpx.get(f"{ms.url}/subgraph", timeout=5).status_code == 401, "the token is required"

    rotations = []
    for _ in range(3):
        new = canary()
        # Rotated while nothing is in flight: both sides switch before the next change.
        replace(tokens.service_file, new)
        replace(tokens.daemon_file, new)
        time.sleep(0.5)
        churn.run(60)
        settle(ms, fake_kube, churn, within=30, token=new)
        rotations.append(new)
    assert daemon.alive
    all_tokens = [tokens.first, *rotations]
    logs = sorted(tmp_path.glob("*.log"))
    assert {p.name for p in logs} >= {"daemon.log", "guarded-service.log"}
    assert not leaks(logs, all_tokens)
    assert not [t for t in all_tokens if t in documents_text(ms, rotations[-1])]
    figures.update(transitions=churn.transitions, rotations=len(rotations), logs_checked=len(logs))


def test_writes_during_a_staggered_rotation_are_not_lost(
    fake_kube: FakeKube,
    guarded_service: MetadataService,
    tokens: Tokens,
    launch: Callable[..., SinkDaemon],
) -> None:
    ms = guarded_service
    churn = Churn(fake_kube, deployments=10, seed=402)
    churn.create_all()
    launch(ms.url, sink={"token_file": str(tokens.daemon_file)})
    settle(ms, fake_kube, churn, within=30, token=tokens.first)
    new = canary()
    replace(tokens.service_file, new)  # the service's Secret volume is updated first
    for name in churn.deployments[:3]:  # workloads stop in that window
        fake_kube.scale("Deployment", "default", name, 0)
        fake_kube.patch_status("Deployment", "default", name, {"availableReplicas": 0})
        churn.running.discard(name)
    time.sleep(2.0)
    replace(tokens.daemon_file, new)  # then the daemon's
    time.sleep(4.0)  # twice the harness's longest per-key retry delay
    diffs = compare(ms, fake_kube, churn, token=new)
    assert not diffs, diffs
