"""The elector's timing and identity, checked once so the elector can rely on them."""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kg_exporter.errors import SettingsError
from kg_exporter.settings import LeaderSettings


@dataclass(frozen=True)
class ElectionConfig:
    """Timing follows client-go's leaderelection, whose defaults (15/10/2 s) are well proven;
    our retry period is 1 s so a released lease is taken over within about a second.

    Safety rests on ``renew_deadline < lease_duration``: a leader that cannot renew gives up
    leadership before any standby may consider its lease expired, so two never lead at once
    (as long as their clocks tick at roughly the same rate; no agreement on wall time is needed).
    """

    lease_name: str
    namespace: str
    identity: str
    lease_duration_seconds: int = 15
    renew_deadline_seconds: float = 10.0
    retry_period_seconds: float = 1.0
    # Upper bound on the time release() may take on shutdown: SIGTERM has a grace period to share.
    release_timeout_seconds: float = 2.0

    def __post_init__(self) -> None:
        if not self.identity:
            raise ValueError("leader election identity must not be empty")
        if not self.lease_name or not self.namespace:
            raise ValueError("leader election needs a lease name and namespace")
        if self.lease_duration_seconds < 1:
            raise ValueError("lease duration must be at least 1 s (the Lease holds whole seconds)")
        if not 0 < self.retry_period_seconds < self.renew_deadline_seconds:
            raise ValueError("retry period must be positive and shorter than the renew deadline")
        if not self.renew_deadline_seconds < self.lease_duration_seconds:
            raise ValueError("renew deadline must be shorter than the lease duration")


# Where Kubernetes mounts the pod's own namespace with its service account token.
SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def election_config(
    settings: LeaderSettings,
    *,
    hostname: Callable[[], str] = socket.gethostname,
    namespace_file: Path = SERVICE_ACCOUNT_NAMESPACE,
) -> ElectionConfig:
    """The elector's config from settings, filling in identity (host name = pod name) and
    namespace (the pod's own). Raises :class:`SettingsError` naming the fields that disagree."""
    namespace = settings.namespace
    if namespace is None:
        try:
            namespace = namespace_file.read_text(encoding="utf-8").strip()
        except OSError:
            raise SettingsError(
                "setting 'leader.namespace': not set, and not running in a pod "
                f"({namespace_file} is missing); set KG_EXPORTER_LEADER__NAMESPACE"
            ) from None
    try:
        return ElectionConfig(
            lease_name=settings.lease_name,
            namespace=namespace,
            identity=settings.identity or hostname(),
            lease_duration_seconds=settings.lease_duration_seconds,
            renew_deadline_seconds=settings.renew_deadline_seconds,
            retry_period_seconds=settings.retry_period_seconds,
        )
    except ValueError as exc:
        raise SettingsError(
            f"settings 'leader.retry_period_seconds' < 'leader.renew_deadline_seconds' < "
            f"'leader.lease_duration_seconds' must hold, and names must not be empty: {exc}"
        ) from exc
