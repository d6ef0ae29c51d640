"""Building PromQL and LogQL selectors from untrusted values.

Both languages quote label values as Go string literals, so one escaper serves both; regex matchers
are RE2, fully anchored. Everything a template concatenates into a query comes through here, so a
label value holding ``"``, ``}`` or a newline yields a query that still parses and still selects
exactly that value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_GO_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_RE2_SPECIAL = frozenset("\\.+*?()|[]{}^$-")
_NEEDS_ESCAPE = re.compile(r'[\\"\x00-\x1f\x7f]')


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    return _GO_ESCAPES.get(char) or f"\\x{ord(char):02x}"


def quote_string(value: str) -> str:
    """``value`` as a double-quoted PromQL/LogQL string literal."""
    # One regex pass rather than a loop per character: every pod regex holds backslashes, so this
    # runs for each query of each workload render (bench/render.py).
    return '"' + _NEEDS_ESCAPE.sub(_escape, value) + '"'


def escape_regex(value: str) -> str:
    """``value`` as an RE2 pattern matching exactly itself."""
    return "".join("\\" + c if c in _RE2_SPECIAL else c for c in value)


def selector(matchers: Iterable[tuple[str, str, str]]) -> str:
    """``{label="value",...}`` from (label, operator, value) triples; operators ``= != =~ !~``.

    Label names come from validated settings, values from anywhere.
    """
    parts = [f"{label}{op}{quote_string(value)}" for label, op, value in matchers]
    return "{" + ",".join(parts) + "}"
