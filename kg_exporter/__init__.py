"""kg-exporter as a library: render subgraphs, write and read them, and follow a subject's telemetry
to the Prometheus history it points at.

Reading what the daemon (or a backfill) wrote, as the prediction service does::

    import kg_exporter

    async with kg_exporter.MetadataClient.connect("http://metadata-service:8080") as metadata:
        telemetry = await metadata.workload_telemetry("cluster1", "Deployment", "shop", "web")
    async with kg_exporter.PrometheusClient(telemetry.prometheus_url) as prometheus:
        for metric in telemetry.metrics:
            series = await prometheus.history(metric, start=start, end=end, step=60)

See ``docs/library.md``. Rendering: :class:`Renderer` (one object → its subgraphs),
:func:`render_objects` (many, plus the glaciation node), :func:`read_manifests`. Writing:
:func:`open_sink` (a Metadata Service) or :func:`open_store` (an embedded store). Every error
raised on purpose is a :class:`KgExporterError`; the tree is in :mod:`kg_exporter.errors`.

Names are imported on first use, so ``import kg_exporter`` stays cheap for the CLI.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from kg_exporter.errors import (
    KgExporterError,
    ManifestError,
    PrometheusError,
    RenderError,
    SettingsError,
    SinkError,
    SinkRejected,
    SinkUnavailable,
    TelemetryParseError,
    ValidationFailed,
)

if TYPE_CHECKING:
    from kg_exporter.backfill.embedded import open_store
    from kg_exporter.identity import (
        ObjectKey,
        SubgraphKind,
        glaciation_node_subgraph_id,
        node_subgraph_id,
        workload_subgraph_id,
    )
    from kg_exporter.manifests import Manifest, read_manifests
    from kg_exporter.read import (
        LogsDataset,
        MetadataClient,
        Metric,
        MetricsDataset,
        PrometheusClient,
        Sample,
        Series,
        Telemetry,
        parse_telemetry,
    )
    from kg_exporter.render.batch import Skipped, render_objects
    from kg_exporter.render.renderer import Renderer, Subgraph
    from kg_exporter.settings import Settings, SinkSettings, load_settings
    from kg_exporter.sink import PutOutcome, Sink, open_sink
    from kg_exporter.validate import ValidationReport, validate_document

#: Where each lazily imported public name lives.
_LAZY = {
    "open_store": "kg_exporter.backfill.embedded",
    "ObjectKey": "kg_exporter.identity",
    "SubgraphKind": "kg_exporter.identity",
    "glaciation_node_subgraph_id": "kg_exporter.identity",
    "node_subgraph_id": "kg_exporter.identity",
    "workload_subgraph_id": "kg_exporter.identity",
    "Manifest": "kg_exporter.manifests",
    "read_manifests": "kg_exporter.manifests",
    "LogsDataset": "kg_exporter.read",
    "MetadataClient": "kg_exporter.read",
    "Metric": "kg_exporter.read",
    "MetricsDataset": "kg_exporter.read",
    "PrometheusClient": "kg_exporter.read",
    "Sample": "kg_exporter.read",
    "Series": "kg_exporter.read",
    "Telemetry": "kg_exporter.read",
    "parse_telemetry": "kg_exporter.read",
    "Skipped": "kg_exporter.render.batch",
    "render_objects": "kg_exporter.render.batch",
    "Renderer": "kg_exporter.render.renderer",
    "Subgraph": "kg_exporter.render.renderer",
    "Settings": "kg_exporter.settings",
    "SinkSettings": "kg_exporter.settings",
    "load_settings": "kg_exporter.settings",
    "PutOutcome": "kg_exporter.sink",
    "Sink": "kg_exporter.sink",
    "open_sink": "kg_exporter.sink",
    "ValidationReport": "kg_exporter.validate",
    "validate_document": "kg_exporter.validate",
}

__all__ = [
    "KgExporterError",
    "LogsDataset",
    "Manifest",
    "ManifestError",
    "MetadataClient",
    "Metric",
    "MetricsDataset",
    "ObjectKey",
    "PrometheusClient",
    "PrometheusError",
    "PutOutcome",
    "RenderError",
    "Renderer",
    "Sample",
    "Series",
    "Settings",
    "SettingsError",
    "Sink",
    "SinkError",
    "SinkRejected",
    "SinkSettings",
    "SinkUnavailable",
    "Skipped",
    "Subgraph",
    "SubgraphKind",
    "Telemetry",
    "TelemetryParseError",
    "ValidationFailed",
    "ValidationReport",
    "__version__",
    "glaciation_node_subgraph_id",
    "load_settings",
    "node_subgraph_id",
    "open_sink",
    "open_store",
    "parse_telemetry",
    "read_manifests",
    "render_objects",
    "validate_document",
    "workload_subgraph_id",
]

__version__: str


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value: Any = version("kg-exporter")
        except PackageNotFoundError:  # running from a source tree that was never installed
            value = "0+unknown"
    elif name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    else:
        raise AttributeError(f"module 'kg_exporter' has no attribute {name!r}")
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
