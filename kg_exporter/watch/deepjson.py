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

from kg_exporter.surrogates import without_lone_surrogates

#: Values deeper than this are read as null (Python's parser stops near 1,000; the scan of a
#: hostile object and everything reading it afterwards stay well clear of that).
MAX_DEPTH = 200

# A JSON string, escapes included (it may hold brackets), or one bracket.
_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)


def loads(body: bytes | str) -> tuple[Any, bool]:
    """``json.loads(body)``, and whether values nested past :data:`MAX_DEPTH` had to be cut for
    it; lone UTF-16 surrogates read as U+FFFD. ValueError as ``json.loads`` raises it for a body
    that is not JSON."""
    value, was_cut = _loads(body)
    # json.loads keeps a lone surrogate ("\ud800") in the str it makes: orjson refused every
    # document holding one, and with it the sink's whole batch, whose other workloads were then
    # retried with it, forever (kg_exporter/surrogates.py).
    return without_lone_surrogates(value, body), was_cut


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
