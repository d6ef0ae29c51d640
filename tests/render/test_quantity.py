from __future__ import annotations

from decimal import Decimal

import pytest

from kg_exporter.render.quantity import as_json_number, parse_quantity


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("250m", Decimal("0.25")), ("2", Decimal(2)), ("1Ki", Decimal(1024)), ("128Mi", Decimal(128 * 2**20)),
        ("1G", Decimal(10**9)), ("1e3", Decimal(1000)), ("1.5Gi", Decimal("1.5") * 2**30), (".5", Decimal("0.5")),
        (3, Decimal(3)), ("100n", Decimal("1e-7")),
        ("lots", None), ("", None), (True, None), (None, None), ("1Zi", None), ("9" * 100, None),
    ],
)  # fmt: skip
def test_parse_quantity(text: object, value: Decimal | None) -> None:
    assert parse_quantity(text) == value


def test_json_numbers_are_exact_when_whole() -> None:
    assert as_json_number(Decimal("1073741824")) == 1073741824
    assert isinstance(as_json_number(Decimal("2.000")), int)
    assert as_json_number(Decimal("0.25")) == 0.25
