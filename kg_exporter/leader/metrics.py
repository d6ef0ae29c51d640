"""The leader gauge: 1 while this process leads, 0 otherwise.

The elector only needs something with ``set``; the daemon passes its registry's gauge. Every
replica exports it, so ``sum(kg_exporter_leader)`` is the number of leaders (alerts: 0 or 2).
"""

from __future__ import annotations

from typing import Protocol

from prometheus_client import CollectorRegistry, Gauge

LEADER_METRIC = "kg_exporter_leader"


class LeaderGauge(Protocol):
    def set(self, value: float) -> None: ...


def leader_gauge(registry: CollectorRegistry) -> Gauge:
    """Register ``kg_exporter_leader`` in ``registry`` (0 until leadership is won)."""
    gauge = Gauge(
        LEADER_METRIC,
        "1 while this replica holds the leader lease and does the watching and writing, else 0.",
        registry=registry,
    )
    gauge.set(0)
    return gauge
