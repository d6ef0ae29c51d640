"""Workload kinds as data: one declarative entry per kind (see docs/kinds.md).

The bundled entries (``bundled.yaml``: Deployment, StatefulSet, Job, DaemonSet, CronJob, JobSet,
MetricSet, MiniCluster, Ensemble) are overridden and extended by the user's (settings ``kinds:``
and ``kinds_config``). :func:`registry_for` compiles them once at start-up into a
:class:`KindRegistry`, which is passed to what needs it; :func:`extract` evaluates an object's entry
on it.
"""

from kg_exporter.kinds.entry import ChildRule, KindEntry
from kg_exporter.kinds.extract import Extract, extract, is_folded, object_key
from kg_exporter.kinds.registry import (
    NODE_KIND,
    KindRegistry,
    bundled_registry,
    registry_for,
)
from kg_exporter.kinds.spec import KindSpec

__all__ = [
    "NODE_KIND",
    "ChildRule",
    "Extract",
    "KindEntry",
    "KindRegistry",
    "KindSpec",
    "bundled_registry",
    "extract",
    "is_folded",
    "object_key",
    "registry_for",
]
