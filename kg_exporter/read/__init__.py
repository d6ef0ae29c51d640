"""The read side, for the prediction service: find a subject's telemetry in the Metadata
Service, follow it to its data sources, and pull the history it trains on.

- :class:`MetadataClient` — telemetry subgraphs by identity (cluster, kind, namespace, name);
- :func:`parse_telemetry` — any telemetry subgraph → :class:`Telemetry` (from the RDF, not the
  JSON layout);
- :class:`PrometheusClient` — ``query_range`` → :class:`Series` of :class:`Sample`.
"""

from kg_exporter.read.metadata import MetadataClient
from kg_exporter.read.model import LogsDataset, Metric, MetricsDataset, Sample, Series, Telemetry
from kg_exporter.read.parse import parse_telemetry
from kg_exporter.read.prometheus import PrometheusClient

__all__ = [
    "LogsDataset",
    "MetadataClient",
    "Metric",
    "MetricsDataset",
    "PrometheusClient",
    "Sample",
    "Series",
    "Telemetry",
    "parse_telemetry",
]
