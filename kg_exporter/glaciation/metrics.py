"""The profile's own Prometheus metrics, in the daemon's registry.

Labels are bounded: outcomes, reasons, resource kinds and the measurement properties of the
configuration (a fixed, small set).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_SECONDS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class GlaciationMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.snapshots = Counter(
            "kg_exporter_glaciation_snapshots",
            "Snapshot writes to the GLACIATION Metadata Service by outcome: written, failed "
            "(after every attempt; the next snapshot replaces it), duplicate_dropped (a retried "
            "PATCH had landed twice; the extra graph was dropped).",
            ["outcome"],
            registry=registry,
        )
        self.write_seconds = Histogram(
            "kg_exporter_glaciation_write_seconds",
            "Seconds one snapshot write took (PATCH and any retries).",
            buckets=_SECONDS,
            registry=registry,
        )
        self.query_failures = Counter(
            "kg_exporter_glaciation_query_failures",
            "Measurement queries that failed (Prometheus down, a query error, a timeout), by the "
            "measurement property and subject (node, pod); the snapshot goes out without them.",
            ["property", "subject"],
            registry=registry,
        )
        self.samples_dropped = Counter(
            "kg_exporter_glaciation_samples_dropped",
            "Sampled values left out, by reason: no_resource_label, unknown_resource (no such "
            "node or pod now), not_finite (NaN or infinity).",
            ["reason"],
            registry=registry,
        )
        self.skipped_objects = Counter(
            "kg_exporter_glaciation_skipped_objects",
            "Kubernetes objects left out of the snapshot because their name cannot be an id.",
            ["kind"],
            registry=registry,
        )
        self.resources = Gauge(
            "kg_exporter_glaciation_resources",
            "Resources in the last snapshot, by kind (node, pod, task).",
            ["kind"],
            registry=registry,
        )
        self.last_written = Gauge(
            "kg_exporter_glaciation_last_written_timestamp_seconds",
            "When the last snapshot was written (Unix time); alert when it falls behind.",
            registry=registry,
        )
