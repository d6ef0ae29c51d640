"""What a Lease says, and the small API the elector needs to read and write one.

The elector depends on this Protocol, not on ``kubernetes_asyncio``: tests drive it with an
in-memory fake, the daemon with :mod:`kg_exporter.leader.kube`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from kg_exporter.errors import KgExporterError


@dataclass(frozen=True)
class LeaseRecord:
    """The fields of a ``coordination.k8s.io/v1`` Lease that leader election uses.

    ``resource_version`` is the server's version of the record read; a replace carries it so the
    server refuses (409) a write based on a stale read: two candidates can never both win.
    An empty ``holder_identity`` means nobody holds the lease (a leader released it).
    """

    holder_identity: str
    lease_duration_seconds: int
    acquire_time: datetime | None
    renew_time: datetime | None
    lease_transitions: int
    resource_version: str | None = None


class LeaseConflict(KgExporterError):
    """Someone else wrote the lease first (HTTP 409): our read was stale. Not an error, a lost race."""


class LeaseApiError(KgExporterError):
    """The lease could not be read or written (connection, timeout, 5xx, forbidden)."""


class LeaseApi(Protocol):
    """Get, create and replace one Lease. Implementations raise :class:`LeaseConflict` on 409 and
    :class:`LeaseApiError` on anything else that went wrong."""

    async def get(self, namespace: str, name: str) -> LeaseRecord | None:
        """The lease, or None when it does not exist."""
        ...

    async def create(self, namespace: str, name: str, record: LeaseRecord) -> LeaseRecord:
        """Create the lease; :class:`LeaseConflict` when it already exists."""
        ...

    async def replace(self, namespace: str, name: str, record: LeaseRecord) -> LeaseRecord:
        """Replace the lease, conditional on ``record.resource_version``."""
        ...
