"""json_too_deep: brackets inside strings never count, and cutting strings out with splits (what
the service does when it can) finds exactly what the regular expression finds."""

from __future__ import annotations

import random

import pytest

from kg_exporter.service.nesting import _JSON_STRING, _outside_strings, json_too_deep


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
        # the scan errs on the safe side).
        (b'{"a": "x", "b": "[[[[[[', 2, True),
        # A backslash outside any string is a plain byte: the quote after it opens a string.
        (b'{"a": \\"[[[[[[", "b": [1]}', 2, False),
        (b'{"a": \\"x", "b": [[[1]]]}', 2, True),
        (b'[[[[{"a": 1}]]]]', 4, True),
        (b'[[[[{"a": 1}]]]]', 5, False),
    ],
)
def test_brackets_in_strings_do_not_count(body: bytes, limit: int, too_deep: bool) -> None:
    padded = body + b" " + b"{}" * 40  # more brackets than any limit: the scan runs
    assert json_too_deep(padded, limit) is too_deep


def test_the_splits_cut_what_the_regular_expression_cuts() -> None:
    rng = random.Random(14)
    decided = 0
    for _ in range(20_000):
        body = bytes(rng.choice(b'[]{}"a\\\x01 ') for _ in range(rng.randint(0, 30)))
        outside = _outside_strings(body)
        if outside is not None:
            decided += 1
            assert outside == _JSON_STRING.sub(b"", body), body
    assert decided > 2_000  # the cheap path is taken, not only the fallback
