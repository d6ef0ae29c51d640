"""How deeply a JSON body or a SPARQL query nests, measured without recursing.

Both parsers the service uses recurse once per level of nesting and crash the process (a native
stack overflow, not an exception) a few thousand levels down, so depth is measured before either
sees the text. These scans never build anything: a regular expression picks out the brackets and
skips what may hold brackets without nesting (strings, IRIs, comments), and a counter follows them.
They run at C speed (a 4 MB body in ~20 ms) and return as soon as the limit is passed.

Crash containment does not depend on them: parsing and queries run in worker processes (see
:mod:`kg_exporter.service.workers`). They exist to refuse early, cheaply and with a clear reason.
"""

from __future__ import annotations

import re

# A JSON string, escapes included: it may hold brackets that do not nest.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")
_JSON_OPEN = frozenset(b"[{")

# SPARQL: long and short strings, an IRIREF (no spaces: ``<`` before a space is an operator), a
# comment, or one bracket. Brackets inside IRIs are kept out of the count, but an IRI cannot hold
# ``{`` or ``}``, and a ``#`` inside one never starts a comment.
_SPARQL_TOKENS = re.compile(
    r"""
      \"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
    | '''(?:[^'\\]|\\.|'(?!''))*'''
    | "(?:[^"\\\n\r]|\\.)*"
    | '(?:[^'\\\n\r]|\\.)*'
    | <[^<>"{}|^`\\\x00-\x20]*>
    | \#[^\n\r]*
    | [{}()\[\]]
    """,
    re.VERBOSE | re.DOTALL,
)
_OPEN = frozenset("{([")
_CLOSE = frozenset("})]")


def json_too_deep(body: bytes, limit: int) -> bool:
    """Whether arrays and objects in ``body`` nest more than ``limit`` deep."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False  # cannot nest deeper than it has brackets: small bodies stop here
    # Strings out (in native code), then everything but brackets: what is left is the few
    # brackets a counter must follow. The same tokens a scan match by match would see, at a
    # fifth of the cost for a typical 3 KB subgraph (which has more brackets than the limit).
    outside = _outside_strings(body)
    if outside is None:
        outside = _JSON_STRING.sub(b"", body)
    brackets = outside.translate(None, _NOT_BRACKETS)
    depth = 0
    for byte in brackets:
        if byte in _JSON_OPEN:
            depth += 1
            if depth > limit:
                return True
        else:
            depth = max(depth - 1, 0)
    return False


def _outside_strings(body: bytes) -> bytes | None:
    """What ``_JSON_STRING.sub(b"", body)`` leaves, cut by splits and replaces in native code
    (measured on rendered subgraphs: 6 against 44 us for 5 KB without escapes, 28 against 45 us
    for 7 KB with 60 escaped quotes), or None when that cannot be told so cheaply.

    Escapes first: a pair of backslashes, then a backslash and a quote, become two bytes that
    are neither, so every quote left opens or closes a string, and the pieces outside strings
    are every other piece between quotes. That holds while no backslash stands outside a string
    (where the regular expression reads it as a plain byte): such a backslash, or what it was
    turned into, shows in the pieces outside, or leaves an odd number of quotes; either way, and
    for a string left open at the end, the answer is None.
    """
    if b"\\" in body:
        body = body.replace(b"\\\\", b"\x01\x01").replace(b'\\"', b"\x01\x01")
    if body.count(b'"') % 2:
        return None
    outside = b"".join(body.split(b'"')[0::2])
    if b"\\" in outside or b"\x01" in outside:
        return None
    return outside


def sparql_too_deep(query: str, limit: int) -> bool:
    """Whether group patterns, parentheses and blank node brackets in ``query`` nest more than
    ``limit`` deep (counted together: each costs the parser a level of recursion)."""
    if sum(query.count(bracket) for bracket in _OPEN) <= limit:
        return False
    depth = 0
    for match in _SPARQL_TOKENS.finditer(query):
        token = match.group()
        if token in _OPEN:
            depth += 1
            if depth > limit:
                return True
        elif token in _CLOSE:
            depth = max(depth - 1, 0)
    return False
