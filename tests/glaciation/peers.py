"""Where the published GLACIATION components are (``/work/shared/peers/glaciation``, or
``$GLACIATION_PEERS``), and the skip-or-fail rule for tests that need them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.processes import IN_CI

PEERS = Path(os.environ.get("GLACIATION_PEERS", "/work/shared/peers/glaciation"))
FIXTURES = PEERS / "exporter" / "fixtures"
EXPORTER_CONFIG = PEERS / "exporter" / "config.yaml"
METADATA_SERVICE = PEERS / "metadata-service" / "run.sh"


def require(path: Path) -> Path:
    """``path``; skip the test when it is absent, except under CI=true where that fails it."""
    if not path.exists():
        message = f"{path} is missing (the published GLACIATION components, see docs/glaciation.md)"
        if IN_CI:
            pytest.fail(message + " — required under CI=true")
        pytest.skip(message)
    return path
