"""Kubernetes resource quantities ("500m", "2Gi", "1e3") as numbers."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache

_SUFFIX = {
    "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1),
    "k": Decimal(10) ** 3, "M": Decimal(10) ** 6, "G": Decimal(10) ** 9, "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15, "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10, "Mi": Decimal(2) ** 20, "Gi": Decimal(2) ** 30, "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50, "Ei": Decimal(2) ** 60,
}  # fmt: skip
_QUANTITY = re.compile(
    r"^([+-]?[0-9]+(?:\.[0-9]*)?|[+-]?\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]{1,3})?$"
)


#: Past this a value is no quantity anything measures, and as a float it would become infinity
#: (which JSON cannot hold: orjson writes null); sums of a few thousand stay finite too.
_LIMIT = Decimal("1e300")
#: orjson, which the sinks encode with, refuses integers past 64 bits: larger ones are floats.
_INT64 = 2**63


def parse_quantity(text: object) -> Decimal | None:
    """The value of a quantity in base units (cores, bytes, devices); None when it is not one, or
    is not finite, or is past 1e300."""
    if type(text) is str:
        return _parse_text(text)
    if isinstance(text, bool):
        return None
    if isinstance(text, int | float):
        return _bounded(Decimal(str(text)))  # a float from JSON may be inf or nan
    return None


def _bounded(value: Decimal) -> Decimal | None:
    return value if value.is_finite() and abs(value) <= _LIMIT else None


@lru_cache(maxsize=4096)  # a cluster uses few distinct quantities ("250m", "128Mi") many times
def _parse_text(text: str) -> Decimal | None:
    if len(text) > 64:
        return None
    match = _QUANTITY.match(text.strip())
    if match is None:
        return None
    number, suffix = match.group(1), match.group(2) or ""
    try:
        value = Decimal(number)
        # The suffixes first: "E" (exa) and "Ei" (exbi) start like an exponent, and were read as
        # one (int("i"): a ValueError out of every render of an object with "1Ei" or "1E").
        if suffix in _SUFFIX:
            return _bounded(value * _SUFFIX[suffix])
        return _bounded(value.scaleb(int(suffix[1:])))
    except (InvalidOperation, ValueError):
        return None


def as_json_number(value: Decimal) -> int | float:
    """An exact int where the quantity is whole, else a float (JSON has no decimals)."""
    integral = value.to_integral_value()
    if value == integral and abs(integral) < _INT64:
        return int(integral)
    return float(value)
