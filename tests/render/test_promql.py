"""PromQL/LogQL string literals: every character Go's lexer would not take as it is escaped."""

from __future__ import annotations

import pytest

from kg_exporter.render.promql import quote_string, selector


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("web", '"web"'),
        ("", '""'),
        ('a"b', '"a\\"b"'),
        ("web\\-api-[a-z0-9]+", '"web\\\\-api-[a-z0-9]+"'),
        ("line\nbreak\r\ttab", '"line\\nbreak\\r\\ttab"'),
        ("\x00\x01\x1f\x7f", '"\\x00\\x01\\x1f\\x7f"'),
        ("é\u2028😀", '"é\u2028😀"'),
    ],
)
def test_quote_string(value: str, literal: str) -> None:
    assert quote_string(value) == literal


def test_selector() -> None:
    matchers = [("namespace", "=", "shop"), ("pod", "=~", 'a\\.b"')]
    assert selector(matchers) == '{namespace="shop",pod=~"a\\\\.b\\""}'
