"""json_too_deep: brackets inside strings never count, whichever way strings are cut out (a split
on quotes for bodies without escapes, a regular expression for the others)."""

from __future__ import annotations

import pytest

from kg_exporter.service.nesting import json_too_deep


@pytest.mark.parametrize(
    ("body", "limit", "too_deep"),
    [
        (b'{"a": [[1]]}', 3, False),
        (b'{"a": [[[1]]]}', 3, True),
        # Brackets in strings do not nest, with or without escapes in the body.
        (b'{"a": "[[[[[[", "b": [1]}', 2, False),
        (b'{"a": "\\"[[[[[[", "b": [1]}', 2, False),
        (b'{"a": "\\\\", "b": [[[1]]]}', 2, True),
        # An escaped quote does not end the string: the brackets after it are still inside.
        (b'{"a": "x\\" [[[[[[ "}', 2, False),
        # A string left open at the end: its brackets count (a parser never reaches them, but
        # the scan errs on the safe side), and an odd number of quotes takes the careful path.
        (b'{"a": "x", "b": "[[[[[[', 2, True),
        (b'[[[[{"a": 1}]]]]', 4, True),
        (b'[[[[{"a": 1}]]]]', 5, False),
    ],
)
def test_brackets_in_strings_do_not_count(body: bytes, limit: int, too_deep: bool) -> None:
    padded = body + b" " + b"{}" * 40  # more brackets than any limit: the scan runs
    assert json_too_deep(padded, limit) is too_deep
