"""Sampling the measurement configuration's queries from Prometheus, once per snapshot.

Every query runs at the same evaluation time (``{{now}}`` and the instant query's ``time``), a few
at once. A failing query (Prometheus down, a PromQL error, a timeout) costs only its own
measurement: it is counted every time and logged once, when it starts failing, and once more when
it answers again, so a Prometheus that is down for an hour does not flood the log.
"""

from __future__ import annotations

import asyncio
import logging
import math

from kg_exporter.errors import PrometheusError
from kg_exporter.glaciation.measurements import MeasurementConfig, MeasurementQuery
from kg_exporter.glaciation.metrics import GlaciationMetrics
from kg_exporter.glaciation.snapshot import Sample
from kg_exporter.read.prometheus import PrometheusClient

log = logging.getLogger("kg_exporter.glaciation")

#: Queries in flight at once: enough to overlap round trips, few enough to spare Prometheus.
CONCURRENCY = 4


class Sampler:
    def __init__(
        self, client: PrometheusClient, config: MeasurementConfig, metrics: GlaciationMetrics
    ) -> None:
        self._client = client
        self._config = config
        self._metrics = metrics
        self._failing: set[tuple[str, int]] = set()
        self._limit = asyncio.Semaphore(CONCURRENCY)

    async def sample(self, now_seconds: float) -> tuple[list[Sample], list[Sample]]:
        """(node samples, pod samples) at ``now_seconds``."""
        jobs = [
            *(("node", i, q) for i, q in enumerate(self._config.node_queries)),
            *(("pod", i, q) for i, q in enumerate(self._config.pod_queries)),
        ]
        results = await asyncio.gather(
            *(self._run(subject, index, query, now_seconds) for subject, index, query in jobs)
        )
        nodes: list[Sample] = []
        pods: list[Sample] = []
        for (subject, _, _), samples in zip(jobs, results, strict=True):
            (nodes if subject == "node" else pods).extend(samples)
        return nodes, pods

    async def _run(
        self, subject: str, index: int, query: MeasurementQuery, now_seconds: float
    ) -> list[Sample]:
        key = (subject, index)
        try:
            async with self._limit:
                series = await self._client.query(query.promql(now_seconds), time=now_seconds)
        except PrometheusError as exc:
            self._metrics.query_failures.labels(query.property, subject).inc()
            if key not in self._failing:
                self._failing.add(key)
                log.warning(
                    "%s query %d (%s) failed: %s; snapshots leave this measurement out until it "
                    "answers (not logged again)",
                    subject,
                    index,
                    query.property,
                    exc,
                )
            return []
        if key in self._failing:
            self._failing.discard(key)
            log.info("%s query %d (%s) answers again", subject, index, query.property)
        samples = []
        for one in series:
            resource = one.labels.get("resource")
            point = one.samples[0]
            if not resource:
                self._metrics.samples_dropped.labels("no_resource_label").inc()
            elif not math.isfinite(point.value):
                self._metrics.samples_dropped.labels("not_finite").inc()
            else:
                samples.append(Sample(query, resource, point.value, round(point.timestamp * 1000)))
        return samples
