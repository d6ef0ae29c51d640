"""Settings of the ``glaciation`` profile (``glaciation:`` in the config file).

Kept apart from :mod:`kg_exporter.settings`, which only adds the one field, so the profile's
settings live with the code that reads them.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator

#: The published exporter's tick (its ``builder_tick_seconds``), and so ours by default.
DEFAULT_INTERVAL_SECONDS = 10.0
#: What the platform's retention sidecar keeps: 6 hours.
DEFAULT_PRUNE_AGE_SECONDS = 6 * 3600.0

_KINDS = ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job")


class GlaciationSettings(BaseModel):
    """The platform's snapshot: nodes with sub-resources and measurements, pods, workloads and
    their tasks, in the vocabulary and id scheme the GLACIATION platform's readers query, PATCHed
    to its Metadata Service every ``interval_seconds`` and when the cluster changes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = Field(
        False, description="Write the platform's snapshot (the `glaciation` profile)."
    )
    url: AnyHttpUrl = Field(
        AnyHttpUrl("http://metadata-service:80"),
        description="Base URL of the GLACIATION Metadata Service (its v0 API: PATCH "
        "/api/v0/graph). The published exporter's `metadata_service_url`.",
    )
    subgraphs: bool = Field(
        True,
        description="Also write the design's event-driven subgraphs through `sink` (two sinks "
        "from one daemon). false: the snapshot alone.",
    )
    resource_base: str = Field(
        "https://kubernetes.local/#",
        description="Base of every resource id (`<base><node>`, `<base><namespace>.<pod>`); the "
        "platform's readers use `https://kubernetes.local/#`. Must end with `/` or `#`.",
    )
    k8s_namespace: str = Field(
        "http://glaciation-project.eu/model/k8s/#",
        description="IRI the `k8s:` prefix (k8s:hasName, k8s:hasContainerID) stands for.",
    )
    cluster_name: str | None = Field(
        None,
        description="Name of the cluster resource (`<base><name>`, a KubernetesCluster). Default: "
        "`clusterName` of the kube-system/kubeadm-config ConfigMap, as the published exporter "
        "reads it, or `Unknown` when that cannot be read.",
    )
    measurements_file: Path | None = Field(
        None,
        description="The measurement configuration: which PromQL gives which measurement, in the "
        "published exporter's format (its config.yaml works unchanged: `builder.queries.node_"
        "queries` / `pod_queries`). Default: the bundled kg_templates/glaciation/measurements.yaml.",
    )
    prometheus_url: AnyHttpUrl | None = Field(
        None,
        description="Prometheus the measurements are sampled from; default: `prometheus_url`.",
    )
    interval_seconds: float = Field(
        DEFAULT_INTERVAL_SECONDS,
        gt=0,
        description="Seconds between snapshots (each samples every query once); the published "
        "exporter's tick is 10 s. Readers that take a time window need one at least this often.",
    )
    change_delay_seconds: float = Field(
        1.0,
        ge=0,
        description="After the cluster changed (a pod started, a node left), write a snapshot this "
        "many seconds later instead of waiting for the next tick; changes in that delay join it.",
    )
    query_timeout_seconds: float = Field(
        5.0, gt=0, description="Seconds one Prometheus query may take before it counts as failed."
    )
    timeout_seconds: float = Field(
        30.0,
        gt=0,
        description="Seconds to wait for one request to the Metadata Service. It serves one "
        "request at a time and parses each snapshot with rdflib, so a big snapshot takes seconds.",
    )
    max_attempts: int = Field(
        4,
        ge=1,
        description="Attempts per snapshot write; after that the next tick writes a fresh one.",
    )
    prune: bool = Field(
        False,
        description="Drop our own snapshots older than `prune_age_seconds`. Off: retention is the "
        "platform's (its sidecar drops `timestamp:` graphs older than 6 h).",
    )
    prune_age_seconds: float = Field(
        DEFAULT_PRUNE_AGE_SECONDS, gt=0, description="Age of a snapshot that pruning drops."
    )
    workload_kinds: tuple[str, ...] = Field(
        _KINDS,
        description="Workload kinds listed and watched for tasks (AssignedTask) in the snapshot.",
    )

    @field_validator("resource_base", "k8s_namespace")
    @classmethod
    def _prefix_iri(cls, value: str) -> str:
        return prefix_iri(value)

    @field_validator("workload_kinds")
    @classmethod
    def _kinds(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - set(_KINDS))
        if unknown:
            raise ValueError(f"unknown kinds {unknown}; known: {', '.join(_KINDS)}")
        return value

    @field_validator("measurements_file")
    @classmethod
    def _file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"{str(value)!r} is not a file")
        return value

    @field_validator("cluster_name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", value):
            raise ValueError(f"{value!r} must be letters, digits, '.', '_' or '-'")
        return value


def prefix_iri(value: str) -> str:
    """``value`` when it is an absolute IRI ending with ``/`` or ``#`` (a base that ids are
    appended to; JSON-LD uses a term as a prefix only when its IRI ends so), else ValueError."""
    if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", value) or any(c in value for c in ' <>"{}|\\^`'):
        raise ValueError(f"{value!r} is not an absolute IRI")
    if not value.endswith(("/", "#")):
        raise ValueError(f"{value!r} must end with '/' or '#'")
    return value
