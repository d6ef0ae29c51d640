"""Writing snapshots into the GLACIATION Metadata Service so its readers find them.

- **Named for the readers**: the document goes without a top-level ``@id``, so the service names
  its graph ``timestamp:<ms>``, which is what the platform's readers select (``^timestamp:``).
- **Appended**: every snapshot is a new graph; readers take the newest or a time window. Retention
  is the platform's (its sidecar drops graphs older than 6 h), or, opt-in, ours: we drop our own
  snapshots older than ``prune_age_seconds`` (ours: the marker below names this writer, the
  cluster), knowing them from the service's answers (plus one look at start for an earlier run's),
  never by scanning the store on a write; at most ``PRUNE_BATCH`` per write.
- **No duplicate from a retry**: each snapshot carries one marker, ``<urn:kg-exporter:write:<uuid>>
  a <urn:kg-exporter:SnapshotWrite> ; <urn:kg-exporter:writer> "<cluster id>"``. When a PATCH needed a retry (the first attempt
  may have landed: it timed out while the service was still parsing), the graphs holding that
  marker are looked up (an index lookup by subject, not a scan) and all but the one the service
  named are dropped, so readers do not keep one state as two snapshots. The service handles
  requests in arrival order, so an abandoned attempt has normally landed before the retry's answer;
  one delayed on the way (a proxy) may land later, so the marker is looked up again after each
  following write until ``straggler_seconds`` have passed.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from kg_exporter.glaciation.metrics import GlaciationMetrics
from kg_exporter.sink.glaciation_api import TIMESTAMP_PREFIX, GlaciationApi, timestamp_of
from kg_exporter.sink.sparql import string_literal

log = logging.getLogger("kg_exporter.glaciation")

WRITE_TYPE = "urn:kg-exporter:SnapshotWrite"
WRITER = "urn:kg-exporter:writer"
#: Graphs dropped by one pruning request at most: the service drops them one by one, within the
#: request's timeout; a backlog (pruning just switched on) goes over the following writes.
PRUNE_BATCH = 20
WRITE_PREFIX = "urn:kg-exporter:write:"


class SnapshotWriter:
    def __init__(
        self,
        api: GlaciationApi,
        metrics: GlaciationMetrics,
        *,
        prune_age_seconds: float | None = None,
        clock: Callable[[], float] = time.time,
        token: Callable[[], str] = lambda: uuid.uuid4().hex,
        straggler_seconds: float = 60.0,
        writer: str = "kg-exporter",
    ) -> None:
        self._api = api
        self._metrics = metrics
        self._prune_age = prune_age_seconds
        self._clock = clock
        self._token = token
        self._writer = writer
        #: Our snapshot graphs still in the store (pruning only), by server timestamp.
        self._ours: dict[str, int] = {}
        self._looked = False
        self._straggler_seconds = straggler_seconds
        #: Retried writes whose abandoned attempts may still land: (marker, graph kept, until).
        self._retried: list[tuple[str, str | None, float]] = []

    async def write(self, document: Mapping[str, Any]) -> str | None:
        """PATCH one snapshot; the graph it became (None if the answer did not say). Raises the
        sink's errors (:class:`~kg_exporter.errors.SinkError`) when every attempt failed."""
        marker = WRITE_PREFIX + self._token()
        body = {
            "@context": document["@context"],
            "@graph": [
                *document["@graph"],
                {"@id": marker, "@type": WRITE_TYPE, WRITER: self._writer},
            ],
        }
        retried = False

        def on_retry() -> None:
            nonlocal retried
            retried = True

        started = time.monotonic()
        graph = await self._api.patch(body, what="PATCH snapshot", on_retry=on_retry)
        if retried:
            self._retried.append((marker, graph, self._clock() + self._straggler_seconds))
        await self._check_retried()
        self._metrics.write_seconds.observe(time.monotonic() - started)
        self._metrics.snapshots.labels("written").inc()
        self._metrics.last_written.set(self._clock())
        if self._prune_age is not None and graph is not None:
            await self._prune(graph)
        return graph

    async def _check_retried(self) -> None:
        now = self._clock()
        pending = []
        for marker, keep, until in self._retried:
            kept = await self._drop_duplicates(marker, keep)
            if now < until:
                pending.append((marker, kept, until))
        self._retried = pending

    async def _drop_duplicates(self, marker: str, keep: str | None) -> str | None:
        """Drop all graphs of one write but ``keep``; the graph kept."""
        graphs = await self._api.graphs(
            f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ <{marker}> a <{WRITE_TYPE}> }} }}",
            what="FIND retried snapshot",
        )
        if keep is None or keep not in graphs:
            # The answer did not name it: keep the newest, which is the attempt that answered.
            graphs.sort(key=lambda g: timestamp_of(g) or 0)
            keep = graphs[-1] if graphs else None
        extra = [g for g in graphs if g != keep]
        if extra:
            await self._api.drop(extra, what="DROP duplicate snapshot")
            self._metrics.snapshots.labels("duplicate_dropped").inc(len(extra))
            log.info("a retried snapshot write had landed %d times; dropped the extra", len(graphs))
        return keep

    async def _prune(self, written: str) -> None:
        if not self._looked:
            # Once per run: snapshots an earlier run of this writer left, which pruning now owns
            # (by the marker's writer, an index lookup; other clusters' snapshots are not ours).
            found = await self._api.graphs(
                f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?w <{WRITER}> "
                f"{string_literal(self._writer)} }} }}",
                what="FIND our snapshots",
            )
            for graph in found:
                stamp = timestamp_of(graph)
                if stamp is not None and graph.startswith(TIMESTAMP_PREFIX):
                    self._ours[graph] = stamp
            self._looked = True
        stamp = timestamp_of(written)
        if stamp is not None:
            self._ours[written] = stamp
        assert self._prune_age is not None
        oldest = (self._clock() - self._prune_age) * 1000
        old = sorted(
            (g for g, stamp in self._ours.items() if stamp < oldest and g != written),
            key=self._ours.__getitem__,
        )[:PRUNE_BATCH]
        if old:
            await self._api.drop(old, what=f"DROP {len(old)} snapshots older than the prune age")
            for graph in old:
                del self._ours[graph]

    async def live_resources(self) -> dict[str, str]:
        """Nodes, pods and containers that this writer's newest snapshot shows with a status not
        yet ended: IRI → description. What a restart must close if it is gone now (the published
        exporter compares with its previous snapshot the same way)."""
        graphs = await self._api.graphs(
            f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?w <{WRITER}> "
            f"{string_literal(self._writer)} }} }}",
            what="FIND our newest snapshot",
        )
        stamped = [(timestamp_of(g), g) for g in graphs if g.startswith(TIMESTAMP_PREFIX)]
        if not stamped:
            return {}
        newest = max((stamp or 0, g) for stamp, g in stamped)[1]
        rows = await self._api.select(
            f"""SELECT ?r ?d WHERE {{ GRAPH <{newest}> {{
                ?r <glc:hasDescription> ?d ; <glc:hasStatus> ?s .
                VALUES ?d {{ "KubernetesWorkerNode" "Pod" "Container" }}
                FILTER NOT EXISTS {{ ?s <glc:endTime> ?end }} }} }}""",
            what="READ our newest snapshot",
        )
        found = {}
        for row in rows:
            resource, description = row.get("r", {}), row.get("d", {})
            if resource.get("type") == "uri" and isinstance(description.get("value"), str):
                found[resource["value"]] = description["value"]
        return found

    async def aclose(self) -> None:
        await self._api.aclose()
