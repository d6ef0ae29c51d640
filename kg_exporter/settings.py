"""Typed settings: a YAML file, overridden by ``KG_EXPORTER_*`` environment variables.

Nested fields use ``__`` in the variable name: ``KG_EXPORTER_LABELS__POD=pod_name`` sets
``labels.pod``; ``KG_EXPORTER_SINK__URL=http://ms:8080`` sets ``sink.url``. Lists are JSON:
``KG_EXPORTER_NAMESPACES='["prod","staging"]'``.

A wrong value is one :class:`~kg_exporter.errors.SettingsError` naming the field (``labels.pod``) and
where the value came from, never a traceback.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from kg_exporter.errors import SettingsError
from kg_exporter.glaciation.config import GlaciationSettings, prefix_iri
from kg_exporter.kinds.entry import KindEntry
from kg_exporter.yamltext import safe_load

ENV_PREFIX = "KG_EXPORTER_"

# Prometheus label names: [a-zA-Z_][a-zA-Z0-9_]* (the data model's own rule). A label name that breaks
# this would make every emitted query a syntax error, so it is refused up front.
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
# Cluster and glaciation node ids become the first segment of every subgraph id: keep them readable.
_SIMPLE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
#: Defaults of sink.batch_max and daemon.workers, chosen together by measurement (a 5,000-start
#: burst through the reference service, docs/daemon.md "Figures"): batches fill only when enough
#: writes wait at once, and each worker holds at most one key's two writes.
BATCH_MAX_DEFAULT = 128
WORKERS_DEFAULT = 64


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LabelNames(_Frozen):
    """Metric label names of this installation. They differ between Prometheus setups (kube-prometheus
    relabels ``exported_namespace``, some use ``kubernetes_namespace``), and every PromQL query we emit
    selects by them, so they are settings rather than constants."""

    namespace: str = Field("namespace", description="Label holding the Kubernetes namespace.")
    pod: str = Field(
        "pod", description="Label holding the pod name (cAdvisor, kube-state-metrics)."
    )
    node: str = Field(
        "node", description="Label holding the node name (kube-state-metrics, Kepler)."
    )
    container: str = Field("container", description="Label holding the container name (cAdvisor).")
    instance: str = Field(
        "instance",
        description="Label identifying the scrape target of node exporter / DCGM; we match it "
        "against the node name with a `name(:port)?` regex.",
    )

    @field_validator("*")
    @classmethod
    def _label_name(cls, value: str) -> str:
        if not _LABEL_NAME.match(value):
            raise ValueError(f"{value!r} is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)")
        return value


class Dashboards(_Frozen):
    """Grafana dashboard UIDs the telemetry subgraphs link to (``{grafana_url}/d/{uid}?var-...``)."""

    workload: str = Field("kg-workload", description="Dashboard for one workload's metrics.")
    workload_logs: str = Field("kg-workload-logs", description="Dashboard for one workload's logs.")
    node: str = Field(
        "kg-node", description="Dashboard for one node (node exporter, Kepler, DCGM)."
    )
    cluster: str = Field("kg-cluster", description="Dashboard for the whole glaciation node.")


class SinkSettings(_Frozen):
    """Where rendered subgraphs go."""

    kind: Literal["subgraph", "graph-store", "glaciation"] = Field(
        "subgraph",
        description="API of the sink: `subgraph` (the /subgraph CRUD API, default), `graph-store` "
        "(SPARQL 1.1 Graph Store HTTP Protocol: Oxigraph, Fuseki, GraphDB) or `glaciation` "
        "(GLACIATION Metadata Service v0).",
    )
    url: AnyHttpUrl = Field(
        AnyHttpUrl("http://metadata-service:8080"),
        description="Base URL of the sink (for graph-store: the store endpoint, e.g. "
        "http://oxigraph:7878/store).",
    )
    token_file: Path | None = Field(
        None,
        description="File holding a bearer token; re-read when it changes so rotated tokens work. "
        "A file rather than a value so the token never sits in the config or the environment.",
    )
    ca_bundle: Path | None = Field(
        None, description="PEM file of CAs to trust for https sink URLs (default: system CAs)."
    )
    query_url: AnyHttpUrl | None = Field(
        None,
        description="graph-store only: the SPARQL query endpoint used to list subgraphs; default: "
        "the store URL with its last path segment replaced by `query` (Oxigraph /store → /query, "
        "Fuseki /ds/data → /ds/query; GraphDB needs it set).",
    )
    update_url: AnyHttpUrl | None = Field(
        None,
        description="graph-store only: the SPARQL 1.1 Update endpoint that batches go to "
        "(sink.batch_max); default: the store URL with its last path segment replaced by "
        "`update` (Oxigraph /store → /update, Fuseki /ds/data → /ds/update). A store that "
        "answers it 404, 405 or 415 gets one PUT per subgraph.",
    )
    timeout_seconds: float = Field(
        10.0,
        gt=0,
        description="Seconds to wait for one request before it counts as failed (to connect, "
        "for the server to take each 256 KiB of a large body, and for each part of the "
        "answer); waiting for a free connection of the client's own pool, behind the "
        "process's other requests, does not count.",
    )
    max_attempts: int = Field(
        6, ge=1, description="Attempts per request inside one write before the key is re-queued."
    )
    backoff_initial_seconds: float = Field(
        0.2, gt=0, description="First retry delay; doubles per attempt, with full jitter."
    )
    backoff_max_seconds: float = Field(30.0, gt=0, description="Cap of the retry delay.")
    batch_max: int = Field(
        BATCH_MAX_DEFAULT,
        ge=1,
        le=1000,
        description="subgraph and graph-store: writes waiting at the same moment go out "
        "together, up to this many per request (subgraph: `POST /subgraph`, the reference "
        "service's batch endpoint; graph-store: one SPARQL Update replacing each graph, to "
        "sink.update_url), which costs both sides far less per subgraph in a burst; a lone write "
        "is sent at once, alone (no timer). 1 sends each as its own PUT; a sink without the "
        "endpoint gets PUTs anyway, and so does each subgraph of a batch refused as a whole. "
        "glaciation always sends one request per subgraph. Backfill uses its --batch option "
        "instead.",
    )


class LeaderSettings(_Frozen):
    """Leader election on a ``coordination.k8s.io/v1`` Lease, for running more than one replica:
    only the leader watches and writes; a standby takes over when the leader's lease expires, or
    within about one retry period when the leader releases it on shutdown. Off for one replica."""

    enabled: bool = Field(
        False, description="Elect a leader; off means this process always works (one replica)."
    )
    lease_name: str = Field("kg-exporter", description="Name of the Lease object.")
    namespace: str | None = Field(
        None,
        description="Namespace of the Lease; default: the pod's own (read from the service "
        "account mount), so the Role granting access to leases can stay in that namespace.",
    )
    identity: str | None = Field(
        None,
        description="This candidate's name in the Lease; default: the host name (the pod "
        "name in Kubernetes). Must differ between replicas.",
    )
    lease_duration_seconds: int = Field(
        15,
        ge=1,
        description="Seconds a standby waits after the lease was last renewed before taking it. "
        "Longer: fewer false take-overs on a slow API server; shorter: faster fail-over.",
    )
    renew_deadline_seconds: float = Field(
        10.0,
        gt=0,
        description="Seconds the leader keeps trying to renew before it stops working; must be "
        "below lease_duration_seconds so it stops before a standby may start.",
    )
    retry_period_seconds: float = Field(
        1.0,
        gt=0,
        description="Seconds between renewals and between a standby's polls (one GET each): "
        "how quickly a released lease is taken over.",
    )


class DaemonSettings(_Frozen):
    """The long-running daemon (``kg-exporter run``): workers, backoff, health server, shutdown."""

    workers: int = Field(
        WORKERS_DEFAULT,
        ge=1,
        description="Keys written concurrently (each write is two subgraphs). They also bound how "
        "many writes can wait together for a batch (sink.batch_max): a burst of starts needs "
        "enough of them to fill batches; with a sink that does not batch, more workers help only "
        "while it has spare capacity.",
    )
    listen: str = Field(
        "0.0.0.0:9090",
        description="HOST:PORT serving /metrics, /healthz and /readyz (port 0: any free port).",
    )
    drain_deadline_seconds: float = Field(
        10.0,
        ge=0,
        description="On SIGTERM, seconds to keep writing queued keys before exiting anyway; keep "
        "it below the pod's terminationGracePeriodSeconds. Unwritten keys are reconciled at the "
        "next start.",
    )
    retry_initial_seconds: float = Field(
        0.5,
        gt=0,
        description="First delay before a key whose write failed is tried again; doubles per "
        "failure of that key, with full jitter.",
    )
    retry_max_seconds: float = Field(30.0, gt=0, description="Cap of the per-key retry delay.")
    rejected_retry_max_seconds: float = Field(
        300.0,
        gt=0,
        description="Cap of the per-key retry delay of a subgraph the sink rejected (a 4xx other "
        "than 401/403, e.g. 400, 409, 413, 422). Such a key is retried, not dropped, so a fix on "
        "the service's side lands without waiting for the object to change; the delay grows from "
        "retry_initial_seconds like any retry, up to this, and each attempt logs one ERROR line.",
    )
    watch_backoff_initial_seconds: float = Field(
        0.5,
        gt=0,
        description="First delay before re-connecting a failed list or watch; doubles per "
        "consecutive failure, with full jitter.",
    )
    watch_backoff_max_seconds: float = Field(
        30.0, gt=0, description="Cap of the list/watch reconnect delay."
    )
    watch_timeout_seconds: int = Field(
        300,
        ge=1,
        description="Server-side timeout of one watch request; each watch picks a random value "
        "between this and twice this (as client-go does) so watches do not all restart together. "
        "A watch that ends this way resumes from its last resourceVersion without a relist.",
    )
    discovery_interval_seconds: float = Field(
        30.0,
        gt=0,
        description="While a configured kind is not served by the API server (its CRD is not "
        "installed) or its list is refused (403), seconds between checks through API discovery "
        "(or a new list attempt): it is watched from the first check that finds it, without a "
        "restart. A watch that finds its resource gone (404) triggers a check at once.",
    )
    list_page_size: int = Field(
        500, ge=1, description="Objects per page (`limit`) when listing; bounds memory per page."
    )
    sink_probe_interval_seconds: float = Field(
        10.0,
        gt=0,
        description="When no write reached the sink for this long, /readyz asks it (one cheap "
        "list request) so readiness reflects a sink that went down while idle.",
    )
    log_format: Literal["text", "json"] = Field(
        "text", description="`text`: key=value lines; `json`: one JSON object per line."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Lowest level logged."
    )

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        host, colon, port = value.rpartition(":")
        if not colon or not host or not port.isdigit() or int(port) > 65535:
            raise ValueError(f"{value!r} is not HOST:PORT")
        return value


class Settings(BaseSettings):
    """Everything kg-exporter can be told. Each field says its unit, default and why it exists."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    cluster_id: str = Field(
        "cluster1",
        description="Identity of this cluster; the first component of every subgraph id and IRI, so "
        "two clusters writing into one Metadata Service never collide.",
    )
    glaciation_node_id: str = Field(
        "glaciation-node1",
        description="Id of the GLACIATION node this cluster is (the whole cluster as one GNode).",
    )
    glaciation_node_url: AnyHttpUrl = Field(
        AnyHttpUrl("https://glaciation-node1.example.org"),
        description="URL at which the GLACIATION node is reached; recorded in its subgraph.",
    )
    iri_base: str = Field(
        "https://kg-exporter.example.org/",
        description="Base of every entity IRI we mint; must end with `/` or `#`. Pick one you "
        "control so the IRIs are yours.",
    )
    prometheus_url: AnyHttpUrl = Field(
        AnyHttpUrl("http://prometheus.monitoring.svc:9090"),
        description="Prometheus base URL written into telemetry subgraphs (readers query it).",
    )
    loki_url: AnyHttpUrl = Field(
        AnyHttpUrl("http://loki.monitoring.svc:3100"),
        description="Loki base URL written into workload telemetry subgraphs.",
    )
    grafana_url: AnyHttpUrl = Field(
        AnyHttpUrl("http://grafana.monitoring.svc:3000"),
        description="Grafana base URL; dashboard links are `{grafana_url}/d/{uid}?var-...`.",
    )
    dashboards: Dashboards = Field(default_factory=Dashboards, description="Dashboard UIDs.")
    labels: LabelNames = Field(
        default_factory=LabelNames, description="Metric label names of this installation."
    )
    rate_window: str = Field(
        "5m",
        description="Range of the rate()/avg_over_time() windows in emitted PromQL (a Prometheus "
        "duration). At least 4x the scrape interval so a rate has samples to work with.",
    )
    template_dir: Path | None = Field(
        None,
        description="Directory of user templates; a template there overrides the bundled one of "
        "the same name, the rest fall back to the bundled set.",
    )
    namespaces: tuple[str, ...] = Field(
        (), description="Namespaces to watch; empty means all namespaces."
    )
    label_selector: str | None = Field(
        None, description="Kubernetes label selector restricting which workloads are watched."
    )
    kinds: tuple[KindEntry, ...] = Field(
        (),
        description="Workload kinds to add, or to replace bundled ones of the same `kind` (or, "
        "without group, versions and plural, to amend them; see docs/kinds.md). Applied after "
        "`kinds_config`.",
    )
    kinds_config: Path | None = Field(
        None,
        description="A YAML file of kind entries (`kinds: [...]`), applied over the bundled "
        "kinds: one file per cluster flavour, shared between deployments.",
    )
    sink: SinkSettings = Field(default_factory=SinkSettings, description="Where subgraphs go.")
    leader: LeaderSettings = Field(
        default_factory=LeaderSettings, description="Leader election between replicas."
    )
    daemon: DaemonSettings = Field(
        default_factory=DaemonSettings, description="The long-running daemon (`kg-exporter run`)."
    )
    glaciation: GlaciationSettings = Field(
        default_factory=GlaciationSettings,
        description="The `glaciation` profile: the GLACIATION platform's snapshot "
        "(docs/glaciation.md).",
    )

    @field_validator("cluster_id", "glaciation_node_id")
    @classmethod
    def _simple_id(cls, value: str) -> str:
        if not _SIMPLE_ID.match(value):
            raise ValueError(
                f"{value!r} must be 1-63 characters of letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )
        return value

    @field_validator("iri_base")
    @classmethod
    def _iri_base(cls, value: str) -> str:
        return prefix_iri(value)

    @field_validator("rate_window")
    @classmethod
    def _duration(cls, value: str) -> str:
        if not re.match(r"^([0-9]+(ms|s|m|h|d|w|y))+$", value):
            raise ValueError(f"{value!r} is not a Prometheus duration such as 5m or 1h30m")
        return value

    @field_validator("template_dir")
    @classmethod
    def _template_dir(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_dir():
            raise ValueError(f"{str(value)!r} is not a directory")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment overrides the file (the file arrives as init kwargs): that is what a
        # ConfigMap-plus-env Deployment expects.
        return (env_settings, init_settings)


def load_settings(
    config_file: Path | None = None, *, overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Read settings from an optional YAML file, then ``KG_EXPORTER_*`` variables, then overrides.

    ``overrides`` (from CLI flags) win over both. Raises :class:`SettingsError` naming the field on
    any wrong value.
    """
    data: dict[str, Any] = {}
    source = "defaults"
    if config_file is not None:
        source = str(config_file)
        data = _read_yaml(config_file)
    # Kind entries first, so an error names the entry's kind as well as the field.
    from kg_exporter.kinds.registry import parse_entries, registry_for

    for where, given in ((source, data), ("overrides", overrides or {})):
        if "kinds" in given:
            parse_entries(given["kinds"], f"{where}: setting 'kinds'")
    try:
        settings = Settings(**data)
        if overrides:
            merged = settings.model_dump()
            merged.update(overrides)
            settings = Settings.model_validate(merged)
    except ValidationError as exc:
        raise SettingsError(_describe(exc, source, os.environ)) from exc
    # Compile the kinds now, so a bad rule is a settings error before anything starts.
    registry_for(settings)
    return settings


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"cannot read config file {path}: {exc.strerror}") from exc
    try:
        loaded = safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SettingsError(f"config file {where} is not valid YAML: {problem}") from exc
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise SettingsError(f"config file {path} must hold a mapping, not {type(loaded).__name__}")
    return loaded


def _describe(exc: ValidationError, source: str, env: Mapping[str, str]) -> str:
    lines = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"])
        var = ENV_PREFIX + "__".join(str(part) for part in error["loc"]).upper()
        origin = f"environment variable {var}" if var in env else source
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown setting"
        lines.append(f"setting '{field}' (from {origin}): {message}")
    return "; ".join(lines)
