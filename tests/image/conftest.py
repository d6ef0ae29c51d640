"""Fixtures of the image tests: the built image and its engine, the mounted files of deploy/'s
ConfigMap and Secret, and the reference Metadata Service run from the image as the overlay's
StatefulSet runs it. Every container is removed after its test."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.deploy.manifests import BASE, OVERLAY, find, render
from tests.image.engine import Engine, engine_with_image
from tests.image.pods import Container, pod_spec, run_args
from tests.support.processes import free_port

#: The pods' fsGroup: Kubernetes makes mounted Secrets and volumes readable through this group.
FS_GROUP = 10001


@pytest.fixture(scope="session")
def engine() -> Engine:
    return engine_with_image()


@pytest.fixture
def token() -> str:
    return secrets.token_hex(16)


def mounted(directory: Path, files: Mapping[str, str], mode: int) -> Path:
    """A directory of files as the kubelet mounts a ConfigMap or Secret: root's, readable by
    ``mode`` (a Secret's defaultMode 0440 reaches the pod's user only through the fsGroup)."""
    directory.mkdir(parents=True)
    for name, content in files.items():
        path = directory / name
        path.write_text(content)
        _own(path, mode)
    _own(directory, 0o755)
    return directory


def writable(directory: Path) -> Path:
    """A volume the fsGroup may write, as fsGroupChangePolicy leaves a claim."""
    directory.mkdir(parents=True, exist_ok=True)
    _own(directory, 0o2770)
    return directory


def _own(path: Path, mode: int) -> None:
    if os.geteuid() == 0:
        os.chown(path, 0, FS_GROUP)
        path.chmod(mode)
    else:  # not root: cannot hand it to the group, so give others what the group would get
        path.chmod(mode | (mode & 0o070) >> 3)


def config_map_files(objects: list[dict[str, Any]], prefix: str) -> dict[str, str]:
    """The data of the generated ConfigMap whose name (hash-suffixed) starts with ``prefix``."""
    (config_map,) = [
        o for o in find(objects, "ConfigMap") if o["metadata"]["name"].startswith(prefix + "-")
    ]
    data: dict[str, str] = config_map["data"]
    return data


class ServicePod:
    """The overlay's metadata-service container on a store directory, on a free loopback port."""

    def __init__(self, engine: Engine, store: Path, token_dir: Path, token: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.headers = {"Authorization": f"Bearer {token}"}
        options, arguments = run_args(
            pod_spec(render(OVERLAY), "StatefulSet", "metadata-service"),
            volumes={"data": store, "sink-token": token_dir},
            fields={},
            replace_args={"--listen": f"127.0.0.1:{self.port}"},
        )
        self.container = Container(engine, options, arguments)

    def start(self) -> None:
        self.container.start()
        self.container.wait_ready(self.url + "/healthz")

    def get(self, path: str, **params: str) -> Any:
        response = httpx.get(self.url + path, params=params, headers=self.headers, timeout=10)
        response.raise_for_status()
        return response.json()

    def ids(self, prefix: str = "") -> list[str]:
        return sorted(self.get("/subgraph", prefix=prefix))

    def phase(self, subgraph_id: str) -> str | None:
        response = httpx.get(f"{self.url}/subgraph/{subgraph_id}", headers=self.headers, timeout=10)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        for node in response.json().get("@graph", []):
            if "kgx:phase" in node:
                return str(node["kgx:phase"])
        return None


@pytest.fixture
def token_dir(tmp_path: Path, token: str) -> Path:
    """The Secret kg-exporter-sink-token (key: token), defaultMode 0440."""
    return mounted(tmp_path / "sink-token", {"token": token}, 0o440)


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """The ConfigMap kg-exporter-config as deploy/base generates it."""
    return mounted(tmp_path / "config", config_map_files(render(BASE), "kg-exporter-config"), 0o644)


@pytest.fixture
def start_service(engine: Engine, token_dir: Path, token: str) -> Iterator[Any]:
    """``start_service(store_dir)``: a started ServicePod; all removed after the test."""
    pods: list[ServicePod] = []

    def start(store: Path) -> ServicePod:
        pod = ServicePod(engine, writable(store), token_dir, token)
        pods.append(pod)
        pod.start()
        return pod

    try:
        yield start
    finally:
        for pod in pods:
            pod.container.remove()


def kubeconfig_mount(directory: Path, kubeconfig: Path) -> Path:
    """A mountable directory holding a copy of ``kubeconfig`` as ``config``: it stands in for a
    pod's service-account credentials (in-cluster configuration needs TLS to the API server)."""
    return mounted(directory, {"config": kubeconfig.read_text()}, 0o440)
