"""Credentials: a kubeconfig file, or the pod's service account with token rotation."""

from __future__ import annotations

import datetime
from pathlib import Path

import certifi
import pytest
from kubernetes_asyncio.config import incluster_config

from kg_exporter.errors import WatchError
from kg_exporter.watch import open_api_client


@pytest.fixture
def mount(tmp_path: Path) -> tuple[Path, Path]:
    """A service-account mount: a token file and a CA bundle (any valid PEM)."""
    token, ca = tmp_path / "token", tmp_path / "ca.crt"
    token.write_text("first-token")
    ca.write_bytes(Path(certifi.where()).read_bytes())
    return token, ca


def rotate(token: Path) -> None:
    token.write_text("rotated-token")


async def test_in_cluster_credentials_follow_a_rotated_token(
    mount: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    token, ca = mount
    environ = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    # The library re-reads the token file once its copy is older than this (1 minute).
    monkeypatch.setattr(incluster_config, "TOKEN_REFRESH_PERIOD", datetime.timedelta(0))
    api = await open_api_client(environ=environ, token_file=str(token), ca_file=str(ca))
    try:
        configuration = api.configuration
        assert configuration.host == "https://10.0.0.1:443"
        auth = await configuration.auth_settings()
        assert auth["BearerToken"]["value"] == "Bearer first-token"
        rotate(token)
        auth = await configuration.auth_settings()
        assert auth["BearerToken"]["value"] == "Bearer rotated-token"
    finally:
        await api.close()


async def test_missing_credentials_are_a_watch_error(tmp_path: Path) -> None:
    with pytest.raises(WatchError, match="cannot load Kubernetes credentials"):
        await open_api_client(tmp_path / "nope", environ={})
