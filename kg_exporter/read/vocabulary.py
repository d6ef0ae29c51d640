"""The terms a reader follows, as full IRIs (documents may use any prefixes, or none)."""

from __future__ import annotations

from rdflib import Namespace
from rdflib.namespace import DCAT, RDF, RDFS

KGX = Namespace("https://w3id.org/kg-exporter/vocab#")
QUDT = Namespace("http://qudt.org/schema/qudt/")

TYPE = RDF.type
LABEL = RDFS.label

TELEMETRY = KGX.Telemetry
TELEMETRY_OF = KGX.telemetryOf
HAS_TELEMETRY = KGX.hasTelemetry
HAS_DATASET = KGX.hasDataset

METRICS_DATASET = KGX.MetricsDataset
LOGS_DATASET = KGX.LogsDataset
DATA_SOURCE = KGX.dataSource
SERVES_DATASET = DCAT.servesDataset
ENDPOINT_URL = DCAT.endpointURL
SERVICE_TYPE = KGX.serviceType
PROMETHEUS_SERVICE = KGX.PrometheusService
LOKI_SERVICE = KGX.LokiService

HAS_METRIC = KGX.hasMetric
METRIC_NAME = KGX.metricName
PROMQL = KGX.promql
UNIT = QUDT.unit
UNIT_LABEL = KGX.unitLabel
LOGQL = KGX.logql
POD_SELECTION = KGX.podSelection

HAS_DASHBOARD = KGX.hasDashboard
LANDING_PAGE = DCAT.landingPage
