"""requirements.lock, read: the exact runtime versions the image carries and CI tests."""

from __future__ import annotations

import re
from pathlib import Path

from packaging.utils import canonicalize_name

LOCK = Path(__file__).resolve().parents[2] / "requirements.lock"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)\s*$")


def locked() -> dict[str, str]:
    """{canonical name: version} of every pin; a line that is neither a pin, a comment nor
    blank is an error (the lock is made by a tool, and must stay that simple)."""
    pins: dict[str, str] = {}
    for number, line in enumerate(LOCK.read_text().splitlines(), 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        match = PIN.match(text)
        assert match, f"requirements.lock:{number}: not a plain pin: {line!r}"
        pins[canonicalize_name(match[1])] = match[2]
    return pins
