"""The work queue: keys (not events), deduplicated, never processed twice at once, retried per key
with backoff by a fixed number of workers."""

from kg_exporter.queue.backoff import Backoff, KeyBackoff
from kg_exporter.queue.workers import Workers
from kg_exporter.queue.workqueue import WorkQueue

__all__ = ["Backoff", "KeyBackoff", "WorkQueue", "Workers"]
