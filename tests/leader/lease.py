"""The Lease the fail-over tests read, as the fake API server stores it: who holds it, and the
times its holders wrote (their own clocks), which time a fail-over without depending on when the
test process itself got to look."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.fakekube import FakeKube

LEASE = "kg-exporter"


def spec(fake_kube: FakeKube) -> dict[str, Any]:
    lease = fake_kube.get("leases", "default", LEASE)
    return {} if lease is None else dict(lease.get("spec") or {})


def holder(fake_kube: FakeKube) -> str:
    return str(spec(fake_kube).get("holderIdentity") or "")


def written_at(fake_kube: FakeKube, field: str) -> tuple[str, float | None]:
    """(holder, ``field`` — ``renewTime`` or ``acquireTime`` — as a Unix time, None if absent)."""
    current = spec(fake_kube)
    value = current.get(field)
    when = datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp() if value else None
    return str(current.get("holderIdentity") or ""), when
