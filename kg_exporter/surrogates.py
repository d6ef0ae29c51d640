"""Lone UTF-16 surrogates in parsed JSON, read as U+FFFD.

``json.loads`` reads an escaped lone surrogate (``"\\ud800"``; and, since it decodes bytes with
``surrogatepass``, raw bytes ED A0-BF) into a str that no UTF-8 encoder takes: orjson, which the
sinks and the service encode with, refuses every document holding one, and ``render`` died writing
it. Go's decoder (the API server's) reads such a surrogate as U+FFFD; so do the watches (``watch/
deepjson.py``) and the manifests reader.
"""

from __future__ import annotations

import re
from typing import Any

#: A lone UTF-16 surrogate may come from an escape ("\ud800") or, since json.loads decodes bytes
#: with "surrogatepass", from raw bytes ED A0-BF. Valid escaped pairs match too (then the walk
#: finds nothing to replace); bodies without either skip the walk.
_SURROGATE_BYTES = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")
_SURROGATE_TEXT = re.compile(r"\\u[dD][89a-fA-F]|[\ud800-\udfff]")
_LONE = re.compile(r"[\ud800-\udfff]")
_REPLACEMENT = "\ufffd"


def without_lone_surrogates(value: Any, source: bytes | str) -> Any:
    """``value``, parsed from ``source``, with every lone surrogate in its strings and keys
    replaced by U+FFFD (in place). Sources holding no candidate skip the walk."""
    pattern = _SURROGATE_BYTES if isinstance(source, bytes) else _SURROGATE_TEXT
    if pattern.search(source):  # type: ignore[arg-type]  # bytes pattern for bytes, str for str
        return _replace_surrogates(value)
    return value


def _clean(text: str) -> str:
    return _LONE.sub(_REPLACEMENT, text) if _LONE.search(text) else text


def _replace_surrogates(value: Any) -> Any:
    """``value`` with every lone surrogate in its strings and keys replaced by U+FFFD. Iterative:
    what json.loads made may lie almost as deep as the interpreter's recursion limit."""
    if isinstance(value, str):
        return _clean(value)
    if not isinstance(value, dict | list):
        return value
    stack: list[Any] = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            for i, item in enumerate(node):
                if isinstance(item, str):
                    node[i] = _clean(item)
                elif isinstance(item, dict | list):
                    stack.append(item)
        else:
            for key in list(node):
                item = node[key]
                if isinstance(item, str):
                    item = _clean(item)
                elif isinstance(item, dict | list):
                    stack.append(item)
                clean_key = _clean(key)
                if clean_key != key:
                    del node[key]
                node[clean_key] = item
    return value
