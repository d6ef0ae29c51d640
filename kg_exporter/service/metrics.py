"""The reference Metadata Service's own Prometheus metrics, in a registry it is given.

Routes are labelled by their template (``/subgraph/{id}``), never the raw path, so the number of
series stays bounded whatever ids clients send.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)

_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class ServiceMetrics:
    def __init__(self, registry: CollectorRegistry, subgraph_count: Callable[[], int]) -> None:
        self.registry = registry
        # process_* (CPU, resident memory) and python_info, as the global registry would have.
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        self.requests = Counter(
            "kg_metadata_service_requests",
            "HTTP requests answered, by method, route template and status code.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "kg_metadata_service_request_duration_seconds",
            "Time from request start to response, by method and route template.",
            ["method", "route"],
            buckets=_BUCKETS,
            registry=registry,
        )
        self.writes = Counter(
            "kg_metadata_service_subgraph_writes",
            "Subgraph writes judged (a PUT or POST of /subgraph/{id}, or one line of a batch), by "
            "outcome: created, replaced, unchanged, refused.",
            ["outcome"],
            registry=registry,
        )
        self.bodies = Counter(
            "kg_metadata_service_bodies_read",
            "Subgraph bodies (a PUT's, or a line of a batch) read into statements, by reader: flat "
            "(the service's own reader of the flat JSON-LD kg-exporter renders), or parser "
            "(pyoxigraph's parsers, in the service or a body worker: everything else).",
            ["reader"],
            registry=registry,
        )
        self.subgraphs = Gauge(
            "kg_metadata_service_subgraphs",
            "Subgraphs currently stored.",
            registry=registry,
        )
        self.subgraphs.set_function(lambda: float(subgraph_count()))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def wrote(self, status: int, *, unchanged: bool = False) -> None:
        """One subgraph write answered ``status`` (as its PUT would be)."""
        if status == 201:
            outcome = "created"
        elif status == 204:
            outcome = "unchanged" if unchanged else "replaced"
        else:
            outcome = "refused"
        self.writes.labels(outcome).inc()

    def read_bodies(self, *, flat: bool, count: int = 1) -> None:
        """``count`` bodies went to the flat reader (``flat``) or to the parser."""
        if count:
            self.bodies.labels("flat" if flat else "parser").inc(count)
