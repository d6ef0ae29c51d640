"""The Jinja2 environment every template renders in.

The environment, not the templates, makes the output safe: ``finalize`` JSON-encodes every value a
template prints, so ``{{ name }}`` becomes ``"web"`` and a name holding ``"``, ``}``, ``{{`` or a newline
is still one JSON string. Templates therefore never write quotes around ``{{ }}``, and
:class:`RawJSON` marks the few values that already are JSON (the pre-encoded ``@context``).
``StrictUndefined`` makes a template naming a missing field fail loudly instead of printing nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jinja2

from kg_exporter.render import promql
from kg_exporter.identity import Iris


class RawJSON(str):
    """A string that already holds JSON text; printed as it is."""

    __slots__ = ()


def _finalize(value: Any) -> str:
    if isinstance(value, RawJSON):
        return value
    # ensure_ascii keeps the document 7-bit clean: every store and proxy on the way accepts it, and
    # lone surrogates cannot slip through as invalid UTF-8.
    return json.dumps(value, ensure_ascii=True)


def _loader(user_dir: Path | None, bundled_dir: Path) -> jinja2.BaseLoader:
    # A user's directory overrides the bundled templates name by name; the rest fall back.
    paths = [str(user_dir), str(bundled_dir)] if user_dir is not None else [str(bundled_dir)]
    return jinja2.FileSystemLoader(paths)


def make_environment(bundled_dir: Path, user_dir: Path | None = None) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=_loader(user_dir, bundled_dir),
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,
    )
    env.globals.update(
        promql_selector=promql.selector,
        promql_string=promql.quote_string,
        regex_escape=promql.escape_regex,
        child_iri=Iris.child,
    )
    return env
