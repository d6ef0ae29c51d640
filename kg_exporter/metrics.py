"""The daemon's own Prometheus metrics, in a registry it is given (a fresh one per test).

Labels are bounded: kinds, event types, phases, subgraph kinds, outcomes and reasons are small fixed
sets; object names never become labels.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)

_WRITE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class DaemonMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        # The standard process_* (CPU, resident memory, open files), python_info and python_gc_*
        # series, as every Python exporter has them: the registry is our own, not the global one
        # that carries them by default.
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
        self.watch_events = Counter(
            "kg_exporter_watch_events",
            "Watch events received, by object kind and event type (ADDED, MODIFIED, DELETED, "
            "BOOKMARK); listed objects count as type LISTED.",
            ["kind", "type"],
            registry=registry,
        )
        self.watch_restarts = Counter(
            "kg_exporter_watch_restarts",
            "List/watch restarts by kind and reason: expired (410, relist), dropped (connection "
            "lost, resume), timeout (server ended the watch, resume), error (API error, backoff).",
            ["kind", "reason"],
            registry=registry,
        )
        self.transitions = Counter(
            "kg_exporter_lifecycle_transitions",
            "Changes of what the graph should say about a workload, by kind and new phase "
            "(running, stopped); node joins and leaves as kind Node, phase running/stopped.",
            ["kind", "phase"],
            registry=registry,
        )
        self.writes = Counter(
            "kg_exporter_writes",
            "Subgraph writes by subgraph kind and outcome (created, replaced, unchanged: found "
            "already written, unavailable, rejected).",
            ["subgraph_kind", "outcome"],
            registry=registry,
        )
        self.write_seconds = Histogram(
            "kg_exporter_write_duration_seconds",
            "Time one subgraph PUT took, sink retries included, by subgraph kind.",
            ["subgraph_kind"],
            buckets=_WRITE_BUCKETS,
            registry=registry,
        )
        self.retries = Counter(
            "kg_exporter_queue_retries",
            "Keys put back in the queue after a failed write, by reason (unavailable, "
            "unauthorized, rejected, error).",
            ["reason"],
            registry=registry,
        )
        self.last_write = Gauge(
            "kg_exporter_last_successful_write_timestamp_seconds",
            "Unix time of the last write the sink acknowledged.",
            registry=registry,
        )
        self.queue_depth = Gauge(
            "kg_exporter_queue_depth",
            "Keys waiting in the work queue: ready (to be written now), backoff (waiting to be "
            "retried), processing (being written).",
            ["state"],
            registry=registry,
        )
        self.tracked = Gauge(
            "kg_exporter_tracked_objects",
            "Objects whose minimal state is kept, by kind (tombstones awaiting their stop "
            "included).",
            ["kind"],
            registry=registry,
        )
        self.kind_served = Gauge(
            "kg_exporter_kind_served",
            "1 when the API server serves this configured kind (at a version its entry reads) "
            "and it is watched; 0 when it does not (a CRD not installed): not watched, checked "
            "again every daemon.discovery_interval_seconds.",
            ["kind"],
            registry=registry,
        )
        self.kind_forbidden = Gauge(
            "kg_exporter_kind_forbidden",
            "1 while listing or watching this kind is refused with 403 (an RBAC rule is "
            "missing; `kg-exporter rbac` prints the rules); its workloads are not exported.",
            ["kind"],
            registry=registry,
        )
        self.ready = Gauge(
            "kg_exporter_ready",
            "1 when /readyz answers 200 (initial lists processed and the sink answering).",
            registry=registry,
        )

    def watch_queue(self, ready: Callable[[], int], backoff: Callable[[], int],
                    processing: Callable[[], int]) -> None:  # fmt: skip
        """Report the queue's depth from these callables at scrape time."""
        self.queue_depth.labels("ready").set_function(lambda: float(ready()))
        self.queue_depth.labels("backoff").set_function(lambda: float(backoff()))
        self.queue_depth.labels("processing").set_function(lambda: float(processing()))
