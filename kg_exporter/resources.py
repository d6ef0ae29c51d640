"""Where the bundled templates and ontology files live, in a checkout and in an installed wheel.

A checkout keeps them at the top level (``kg_templates/``, ``ontology/``) so users can read and copy
them; a wheel maps the same directories into ``kg_exporter/bundled/`` (see pyproject.toml).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

_PACKAGE = Path(__file__).resolve().parent


def _locate(name: str, bundled: str) -> Path:
    for candidate in (_PACKAGE / "bundled" / bundled, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"bundled directory {name!r} is missing from the installation")


def templates_dir() -> Path:
    """The bundled Jinja2 templates (``kg_templates/``)."""
    return _locate("kg_templates", "templates")


def ontology_dir() -> Path:
    """The bundled vocabulary, JSON-LD context and SHACL shapes (``ontology/``)."""
    return _locate("ontology", "ontology")


@cache
def context() -> dict[str, Any]:
    """The product's JSON-LD ``@context`` object (the value, not the wrapping document)."""
    document = json.loads((ontology_dir() / "context.jsonld").read_text(encoding="utf-8"))
    value: dict[str, Any] = document["@context"]
    return value
