"""Fixtures shared by every test group."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kg_exporter.manifests import Manifest, read_manifests
from kg_exporter.render.renderer import Renderer
from kg_exporter.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's KG_EXPORTER_* variables."""
    import os

    for name in list(os.environ):
        if name.startswith("KG_EXPORTER_"):
            monkeypatch.delenv(name)


@pytest.fixture
def settings() -> Settings:
    return load_settings()


@pytest.fixture
def renderer(settings: Settings) -> Renderer:
    return Renderer(settings)


def example_objects() -> list[dict[str, Any]]:
    """Every object of the bundled example cluster."""
    return [m.obj for m in read_manifests([EXAMPLES]) if isinstance(m, Manifest)]
