"""What ``/sparql`` refuses before running a query: federation.

pyoxigraph evaluates ``SERVICE <url> { ... }`` by fetching ``url`` over HTTP, which would let any
client make the Metadata Service call internal endpoints (SSRF), and it has no switch to turn that
off. So the query text is scanned for the ``SERVICE`` keyword outside strings, IRIs and comments;
``kgx:service`` (a prefixed name) or ``?service`` (a variable) are not the keyword. A literal that
merely contains the word is not refused; only the token is.
"""

from __future__ import annotations

import re

from kg_exporter.service.validation import BadRequest

_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
# Characters of SPARQL names, prefixed names and variables: a "word" of these equal to SERVICE
# (case-insensitively) can only be the keyword.
_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.:?$%\\")
_NOT_IN_IRI = frozenset('<>"{}|^`\\ \t\r\n')


def refuse_federation(query: str) -> None:
    """Raise :class:`BadRequest` (400) when ``query`` uses ``SERVICE``."""
    # SPARQL allows \uXXXX escapes anywhere in a query; a parser that honours them in keywords
    # would read \u0053ERVICE as SERVICE, so the scan sees the text after unescaping.
    query = _ESCAPE.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), query)
    for word in _words(query):
        if word.upper() == "SERVICE":
            raise BadRequest(
                400,
                "SERVICE not allowed",
                "the Metadata Service answers from its own store and never queries other endpoints",
            )


def _words(query: str) -> list[str]:
    words: list[str] = []
    index, end = 0, len(query)
    while index < end:
        char = query[index]
        if char == "#":
            newline = query.find("\n", index)
            index = end if newline < 0 else newline + 1
        elif char in "\"'":
            index = _skip_string(query, index)
        elif char == "<" and (close := _iri_end(query, index)) is not None:
            index = close + 1
        elif char in _WORD:
            start = index
            while index < end and query[index] in _WORD:
                index += 1
            words.append(query[start:index])
        else:
            index += 1
    return words


def _skip_string(query: str, start: int) -> int:
    quote = query[start]
    long = query.startswith(quote * 3, start)
    delimiter = quote * 3 if long else quote
    index = start + len(delimiter)
    while index < len(query):
        if query[index] == "\\":
            index += 2
        elif query.startswith(delimiter, index):
            return index + len(delimiter)
        elif not long and query[index] in "\r\n":
            return index  # unterminated: the parser will refuse the query anyway
        else:
            index += 1
    return index


def _iri_end(query: str, start: int) -> int | None:
    """Index of the ``>`` closing an IRIREF opened at ``start``; None when ``<`` is an operator
    (an IRIREF holds no spaces, so ``?a < 1) SERVICE <x>`` cannot hide the keyword)."""
    index = start + 1
    while index < len(query):
        char = query[index]
        if char == ">":
            return index
        if char in _NOT_IN_IRI:
            return None
        index += 1
    return None
