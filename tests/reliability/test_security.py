"""Security between ``kg-exporter run`` and the Metadata Service: bearer token rotation (the token
files are replaced while both run), and TLS with a CA the test makes (a daemon trusting another CA
fails closed). No token and no private key ever appears in a log line or a document.

That the reference service with a token refuses every unauthenticated read and write (each route
and method, no token or a wrong one: 401, store unchanged) is ``tests/service/test_auth.py``."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.stack import MetadataService, eventually
from tests.fakekube import FakeKube
from tests.reliability.conftest import SinkDaemon
from tests.reliability.truth import Churn, compare, healthz, settle
from tests.support.tls import Pki, make_pki, secret_lines


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
    with httpx.Client(base_url=ms.url, timeout=10, headers=headers, verify=ms.verify) as client:
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
    settle(ms, fake_kube, churn, within=90, token=tokens.first)
    assert httpx.get(f"{ms.url}/subgraph", timeout=5).status_code == 401, "the token is required"

    rotations = []
    for _ in range(3):
        new = canary()
        # Rotated while nothing is in flight: both sides switch before the next change.
        replace(tokens.service_file, new)
        replace(tokens.daemon_file, new)
        time.sleep(0.5)
        churn.run(60)
        settle(ms, fake_kube, churn, within=90, token=new)
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
    settle(ms, fake_kube, churn, within=90, token=tokens.first)
    new = canary()
    replace(tokens.service_file, new)  # the service's Secret volume is updated first
    for name in churn.deployments[:3]:  # workloads stop in that window
        fake_kube.scale("Deployment", "default", name, 0)
        fake_kube.patch_status("Deployment", "default", name, {"availableReplicas": 0})
        churn.running.discard(name)
    time.sleep(2.0)  # the window: the service already wants the new token, the daemon not yet
    replace(tokens.daemon_file, new)  # then the daemon's
    # Polled (the writes are refused then retried with the per-key backoff, ≤ 2 s here): the
    # three stops must end up written, however loaded the machine.
    settle(ms, fake_kube, churn, within=90, poll=0.25, token=new)


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    """A CA, a server certificate for IP:127.0.0.1 it signed, and an unrelated second CA."""
    return make_pki(tmp_path / "pki")


@pytest.fixture
def tls_service(tmp_path: Path, tokens: Tokens, pki: Pki) -> Iterator[MetadataService]:
    service = MetadataService(
        tmp_path / "tls-store",
        tmp_path / "tls-service.log",
        tls=(pki.server_cert, pki.server_key, pki.ca_cert),
    )
    service.argv += ["--token-file", str(tokens.service_file)]
    service.start()
    try:
        yield service
    finally:
        service.stop()


def api_requests(ms: MetadataService) -> int:
    """Requests the service answered on /subgraph and /sparql (any method, any status)."""
    text = httpx.get(f"{ms.url}/metrics", timeout=5, verify=ms.verify).text
    return int(
        sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("kg_metadata_service_requests_total{")
            and ('route="/subgraph' in line or 'route="/sparql' in line)
        )
    )


def test_tls_with_the_tests_ca_and_a_daemon_trusting_another_ca_fails_closed(
    fake_kube: FakeKube,
    tls_service: MetadataService,
    tokens: Tokens,
    pki: Pki,
    tmp_path: Path,
    launch: Callable[..., SinkDaemon],
    figures: dict[str, object],
) -> None:
    ms = tls_service
    assert ms.url.startswith("https://127.0.0.1:")
    churn = Churn(fake_kube, deployments=30, jobs=5, seed=443)
    churn.create_all()
    trusting = {"ca_bundle": str(pki.ca_cert), "token_file": str(tokens.daemon_file)}
    daemon = launch(ms.url, sink=trusting)
    settle(ms, fake_kube, churn, within=90, token=tokens.first)
    churn.run(150, over=3.0)
    took = settle(ms, fake_kube, churn, within=90, poll=0.25, token=tokens.first)
    assert daemon.stop() == 0
    written = churn.transitions

    # A daemon trusting an unrelated CA: it must not talk to this server at all.
    stored_before, requests_before = documents_text(ms, tokens.first), api_requests(ms)
    churn.run(60)  # changes it would write if it did
    offset = len(daemon.log_text())  # both daemons log to the same file
    mistrusting = {**trusting, "ca_bundle": str(pki.other_ca_cert)}
    wrong = launch(ms.url, sink=mistrusting, ready=False, drain_deadline_seconds=1.0)

    def refused_for_the_certificate() -> bool:
        readyz = httpx.get(wrong.url + "/readyz", timeout=5)
        reasons = " ".join(readyz.json()["reasons"]) if readyz.status_code == 503 else ""
        return "CERTIFICATE_VERIFY_FAILED" in reasons

    # Polled: on a loaded machine the listing alone can take seconds before any sink request.
    eventually(refused_for_the_certificate, within=60, what="/readyz naming the certificate")
    time.sleep(5.0)  # and it keeps trying, and failing closed, for 5 s more
    assert wrong.alive and healthz(wrong.url) == 200, "live"
    readyz = httpx.get(wrong.url + "/readyz", timeout=5)
    assert readyz.status_code == 503, "not ready: the sink fails"
    assert "CERTIFICATE_VERIFY_FAILED" in " ".join(readyz.json()["reasons"]), readyz.text
    assert api_requests(ms) == requests_before, "no request reached the service"
    assert documents_text(ms, tokens.first) == stored_before, "nothing written"
    assert compare(ms, fake_kube, churn, token=tokens.first), "the 60 changes stay unwritten"
    log = wrong.log_text()[offset:]
    errors = [line for line in log.splitlines() if "certificate verify failed" in line]
    assert errors, log[-3000:]
    assert "Traceback" not in log
    assert wrong.stop() == 0

    secrets_ = [tokens.first, *[line for key in pki.keys for line in secret_lines(key)]]
    logs = sorted(tmp_path.glob("*.log"))
    assert {p.name for p in logs} >= {"daemon.log", "tls-service.log"}
    assert not leaks(logs, secrets_)
    stored = documents_text(ms, tokens.first)
    assert not [s for s in secrets_ if s in stored]
    figures.update(
        transitions_over_tls=written,
        settled_after_s=round(took, 1),
        unwritten_with_wrong_ca=churn.transitions - written,
        verify_errors_logged=len(errors),
        secrets_checked=len(secrets_),
    )
