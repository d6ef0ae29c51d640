"""JSON from the API server, read even when an object nests deeper than Python's parser goes.

Why: ``json.loads`` recurses once per level of nesting and raises RecursionError about a thousand
levels down, while the API server keeps custom resources nested up to 10,000 levels (fields under
``x-kubernetes-preserve-unknown-fields``). One such object would end its kind's watch, and every
relist would meet it again: the kind would never be watched. Nothing kg-exporter reads lies more
than a few levels down, so such a body is read with every value nested past :data:`MAX_DEPTH`
replaced by ``null``, and the caller logs that it was cut.

The cut is made in the text: a scan (strings skipped whole, so brackets inside them do not count)
finds where each value at the cut depth starts and ends, without recursing. Only bodies the
parser refused pay for it.
"""

from __future__ import annotations

import json
import re
from typing import Any

#: Values deeper than this are read as null (Python's parser stops near 1,000; the scan of a
#: hostile object and everything reading it afterwards stay well clear of that).
MAX_DEPTH = 200

#: A lone UTF-16 surrogate may come from an escape ("\ud800") or, since json.loads decodes bytes
#: with "surrogatepass", from raw bytes ED A0-BF. Valid escaped pairs match too (then the walk
#: finds nothing to replace); bodies without either skip the walk.
_SURROGATE_BYTES = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")
_SURROGATE_TEXT = re.compile(r"\\u[dD][89a-fA-F]|[\ud800-\udfff]")
_LONE = re.compile(r"[\ud800-\udfff]")
_REPLACEMENT = "\ufffd"

# A JSON string, escapes included (it may hold brackets), or one bracket.
_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)


def loads(body: bytes | str) -> tuple[Any, bool]:
    """``json.loads(body)``, and whether values nested past :data:`MAX_DEPTH` had to be cut for
    it; lone UTF-16 surrogates read as U+FFFD. ValueError as ``json.loads`` raises it for a body
    that is not JSON."""
    value, was_cut = _loads(body)
    # json.loads keeps a lone surrogate ("\ud800") in the str it makes, which no UTF-8 encoder
    # takes: orjson refused every document holding one, and with it the sink's whole batch, whose
    # other workloads were then retried with it, forever. Go's decoder (the API server's) reads
    # one as U+FFFD; so do we.
    pattern = _SURROGATE_BYTES if isinstance(body, bytes) else _SURROGATE_TEXT
    if pattern.search(body):  # type: ignore[arg-type]  # bytes pattern for bytes, str for str
        value = _replace_surrogates(value)
    return value, was_cut


def _loads(body: bytes | str) -> tuple[Any, bool]:
    try:
        return json.loads(body), False
    except RecursionError:
        pass
    raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    try:
        return json.loads(cut(raw, MAX_DEPTH)), True
    except RecursionError as exc:  # not reachable by a scan that is right; a clear error if so
        raise ValueError("nested too deeply to read") from exc


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


def cut(body: bytes, depth: int) -> bytes:
    """``body`` with each array or object that starts deeper than ``depth`` replaced by ``null``."""
    pieces: list[bytes] = []
    level = 0
    kept_from = 0  # where the text still to be copied starts
    cut_from = -1  # where the value being cut starts, while one is
    for match in _TOKENS.finditer(body):
        token = match.group()
        if token in (b"[", b"{"):
            level += 1
            if level == depth + 1:
                cut_from = match.start()
        elif token in (b"]", b"}"):
            if level == depth + 1 and cut_from >= 0:
                pieces += (body[kept_from:cut_from], b"null")
                kept_from, cut_from = match.end(), -1
            level = max(level - 1, 0)
    if cut_from >= 0:  # left open at the end: not JSON anyway, let the parser say so
        return body
    pieces.append(body[kept_from:])
    return b"".join(pieces)
