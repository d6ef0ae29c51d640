"""The one-shot backfill: every workload and node that exists now, into a sink, then exit.

- :func:`backfill` — render and write an :class:`Inventory`, optionally prune; a :class:`Report`;
- :func:`from_manifests` / :func:`from_cluster` — the inventory, from files or the cluster;
- :func:`open_store` — the embedded on-disk store (the reference service's storage) as a sink;
- :class:`DirectorySink` — documents as files, for ``--dry-run``.
"""

from kg_exporter.backfill.directory import DirectorySink
from kg_exporter.backfill.embedded import DEFAULT_STORE, EmbeddedStoreSink, open_store
from kg_exporter.backfill.outcome import WriteOutcome
from kg_exporter.backfill.report import Failure, Report
from kg_exporter.backfill.runner import backfill
from kg_exporter.backfill.sources import Inventory, from_cluster, from_manifests

__all__ = [
    "DEFAULT_STORE",
    "DirectorySink",
    "EmbeddedStoreSink",
    "Failure",
    "Inventory",
    "Report",
    "WriteOutcome",
    "backfill",
    "from_cluster",
    "from_manifests",
    "open_store",
]
