"""Defensive accessors for raw Kubernetes JSON.

Objects arrive from manifests written by hand and from an API we do not control, so every field may
be missing or of the wrong type. These accessors never raise: a wrong type reads as absent, and the
renderer decides what absent means.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Any

# RFC 3339 as the API server writes it; anything else is not exported as an xsd:dateTime.
# \Z, not $: $ also matches before a final newline.
_TIMESTAMP = re.compile(
    r"^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,9})?"
    r"(Z|[+-]([0-9]{2}):([0-9]{2}))\Z"
)


def mapping(value: object) -> Mapping[str, Any]:
    """``value`` if it is a JSON object, else an empty one."""
    # type() first: isinstance against the Mapping ABC costs ~10x more, and this runs per field.
    if type(value) is dict:
        return value
    if value is None or type(value) in _SCALARS:
        return _EMPTY
    return value if isinstance(value, Mapping) else _EMPTY


def sequence(value: object) -> Sequence[Any]:
    """``value`` if it is a JSON array, else an empty one."""
    return value if type(value) is list or isinstance(value, list | tuple) else ()


def text(value: object) -> str | None:
    """``value`` if it is a non-empty string."""
    return value if isinstance(value, str) and value else None


def integer(value: object) -> int | None:
    """``value`` if it is an integer (booleans are not)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def timestamp(value: object) -> str | None:
    """``value`` if it is an RFC 3339 timestamp of a real instant."""
    if not isinstance(value, str):
        return None
    match = _TIMESTAMP.match(value)
    return value if match is not None and _real_instant(match) else None


def _real_instant(match: re.Match[str]) -> bool:
    """The shape alone let "9999-99-99T99:99:99Z", "2026-02-30T..." or "+99:99" into documents
    as xsd:dateTime literals no reader accepts (SHACL: "not a valid xsd:dateTime")."""
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    try:
        datetime(year, month, day, hour, minute, second)
    except ValueError:  # year 0, month 13, February 30, hour 24, second 60...
        return False
    if match.group(9) is None:
        return True
    offset = int(match.group(9)) * 60 + int(match.group(10))
    return int(match.group(10)) < 60 and offset <= 14 * 60  # xsd: -14:00 to +14:00


def string_map(value: object) -> dict[str, str]:
    """Labels and annotations: only string keys with string values survive."""
    if not value:
        return {}
    return {k: v for k, v in mapping(value).items() if isinstance(k, str) and isinstance(v, str)}


def metadata(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return mapping(obj.get("metadata"))


_EMPTY: Mapping[str, Any] = MappingProxyType({})
_SCALARS = frozenset({str, int, float, bool, list})


def name_of(obj: Mapping[str, Any]) -> str | None:
    return text(metadata(obj).get("name"))


def namespace_of(obj: Mapping[str, Any]) -> str:
    """The namespace, defaulting as kubectl does for manifests that leave it out."""
    return text(metadata(obj).get("namespace")) or "default"
