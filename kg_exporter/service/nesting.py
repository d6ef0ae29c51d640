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
    if b"\\" not in body and body.count(b'"') % 2 == 0:
        # Without a backslash, quotes open and close strings in turn, and an even number of
        # them leaves no string open at the end: the pieces outside strings are every other
        # piece between quotes, which a split cuts in native code (a seventh of the regular
        # expression's cost on a 5 KB rendered subgraph: measured 6 against 44 us).
        outside = b"".join(body.split(b'"')[0::2])
    else:
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
