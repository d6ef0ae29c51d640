"""``yaml.safe_load`` for text from outside (settings, kinds and measurement files, a cluster's
ConfigMaps) that fails only with ``yaml.YAMLError``.

Why: PyYAML's safe loader raises other exceptions for some bad input: ValueError for a scalar its
tag cannot hold (``2001-02-30``, ``!!int twelve``), RecursionError for collections nested a few
thousand deep. Callers that turn ``YAMLError`` into a clear message (or a fallback, for cluster
data) would otherwise stop with a traceback on them.
"""

from __future__ import annotations

from typing import Any

import yaml

from kg_exporter.manifests.construct import BAD_SCALAR


def safe_load(text: str) -> Any:
    """``yaml.safe_load(text)``; every failure on bad input is a ``yaml.YAMLError``."""
    try:
        return yaml.safe_load(text)
    except BAD_SCALAR as exc:
        raise yaml.YAMLError(f"a value its tag cannot hold: {exc}") from exc
    except RecursionError as exc:
        raise yaml.YAMLError("nested too deeply") from exc
