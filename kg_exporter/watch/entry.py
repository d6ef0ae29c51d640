"""What the watch package needs to know of a workload kind entry, and nothing more.

The kind registry (:mod:`kg_exporter.kinds`, bundled entries plus the user's) owns everything else
an entry says (lifecycle rules, pod matchers, …); this package only resolves, lists and watches it.
"""

from __future__ import annotations

from typing import Protocol


class KindEntry(Protocol):
    """One configured kind, as the watches see it. Read-only: frozen dataclasses satisfy it."""

    @property
    def kind(self) -> str:
        """``JobSet``: also the key of its metrics and log lines."""

    @property
    def group(self) -> str:
        """API group; ``""`` for the core group."""

    @property
    def versions(self) -> tuple[str, ...]:
        """Versions the entry can read, preferred first: the first one the API server serves is
        watched."""

    @property
    def plural(self) -> str:
        """The resource name, ``jobsets``."""

    @property
    def namespaced(self) -> bool:
        """False for a cluster-scoped kind: watched once, whatever ``namespaces`` says."""


def qualified(entry: KindEntry) -> str:
    """``jobsets.jobset.x-k8s.io``: how Kubernetes names a resource (``kubectl get`` takes it)."""
    return f"{entry.plural}.{entry.group}" if entry.group else entry.plural
