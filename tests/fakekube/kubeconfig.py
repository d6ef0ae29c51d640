"""A kubeconfig that points a real client at the fake server."""

from __future__ import annotations

from pathlib import Path

import yaml


def kubeconfig(
    server_url: str, token: str | None, *, namespace: str = "default"
) -> dict[str, object]:
    user: dict[str, str] = {"token": token} if token is not None else {}
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "fakekube", "cluster": {"server": server_url}}],
        "users": [{"name": "fakekube", "user": user}],
        "contexts": [
            {
                "name": "fakekube",
                "context": {"cluster": "fakekube", "user": "fakekube", "namespace": namespace},
            }
        ],
        "current-context": "fakekube",
        "preferences": {},
    }


def write_kubeconfig(path: Path, server_url: str, token: str | None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(kubeconfig(server_url, token), sort_keys=False))
    return path
