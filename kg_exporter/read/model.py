"""What a telemetry subgraph tells a reader, as typed values.

Everything here is a frozen dataclass built by :func:`~kg_exporter.read.parse.parse_telemetry` from
the RDF a subgraph states, so a value is the same whichever template (bundled or the user's) wrote
the document, as long as it used the vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


@dataclass(frozen=True, slots=True)
class Metric:
    """One metric of a metrics dataset: a PromQL query selecting exactly the subject's series."""

    #: ``kgx:metricName``, e.g. ``cpu_usage``.
    name: str
    #: ``kgx:promql``: run it as it is (it already holds the subject's label matchers).
    promql: str
    #: ``qudt:unit``: the QUDT unit IRI (``http://qudt.org/vocab/unit/PERCENT``), when stated.
    unit: str | None
    #: ``kgx:unitLabel``: the unit as people write it (``%``, ``MB``), when stated.
    unit_label: str | None
    #: ``rdfs:label``: a human description, when stated.
    label: str | None
    #: The Prometheus base URL of the dataset this metric belongs to.
    prometheus_url: str
    #: The metric's own IRI in the graph.
    iri: str


@dataclass(frozen=True, slots=True)
class MetricsDataset:
    """A ``kgx:MetricsDataset``: the Prometheus it is read from, its metrics, its dashboards."""

    iri: str
    #: ``dcat:endpointURL`` of the dataset's ``kgx:dataSource`` (a Prometheus service).
    prometheus_url: str
    #: Sorted by name.
    metrics: tuple[Metric, ...]
    #: Grafana dashboard URLs (``kgx:hasDashboard`` / ``dcat:landingPage``), sorted.
    dashboards: tuple[str, ...]
    #: ``kgx:podSelection`` of a workload's dataset: ``pod-name`` (its queries match pod names)
    #: or ``pod-labels`` (they join kube-state-metrics' kube_pod_labels); None when not stated.
    pod_selection: str | None = None


@dataclass(frozen=True, slots=True)
class LogsDataset:
    """A ``kgx:LogsDataset``: the Loki it is read from and the LogQL selector of the streams."""

    iri: str
    #: ``dcat:endpointURL`` of the dataset's ``kgx:dataSource`` (a Loki service).
    loki_url: str
    #: ``kgx:logql``: a stream selector such as ``{namespace="shop",pod=~"web-..."}``.
    logql: str
    dashboards: tuple[str, ...]
    #: ``kgx:podSelection``: how the selector picks the workload's pods (``pod-name``), if stated.
    pod_selection: str | None = None


@dataclass(frozen=True, slots=True)
class Telemetry:
    """Where one workload's, node's or glaciation node's telemetry lives.

    The ``metrics``/``prometheus_url``/``loki_url``/``logql``/``dashboards`` shortcuts cover the
    common case of one metrics and at most one logs dataset; ``metrics_datasets`` and
    ``logs_datasets`` hold them all.
    """

    #: The ``kgx:Telemetry`` node.
    iri: str
    #: What it is the telemetry of (``kgx:telemetryOf``): the workload, node or glaciation node.
    subject: str
    metrics_datasets: tuple[MetricsDataset, ...]
    logs_datasets: tuple[LogsDataset, ...]

    @property
    def metrics(self) -> tuple[Metric, ...]:
        """Every metric of every metrics dataset."""
        return tuple(m for dataset in self.metrics_datasets for m in dataset.metrics)

    @property
    def prometheus_url(self) -> str | None:
        """The Prometheus of the first metrics dataset; None without one."""
        return self.metrics_datasets[0].prometheus_url if self.metrics_datasets else None

    @property
    def loki_url(self) -> str | None:
        """The Loki of the first logs dataset; None without one (nodes have no logs dataset)."""
        return self.logs_datasets[0].loki_url if self.logs_datasets else None

    @property
    def logql(self) -> str | None:
        """The LogQL selector of the first logs dataset; None without one."""
        return self.logs_datasets[0].logql if self.logs_datasets else None

    @property
    def dashboards(self) -> tuple[str, ...]:
        """Every dashboard URL of every dataset, sorted, each once."""
        urls = {url for d in self.metrics_datasets for url in d.dashboards}
        urls.update(url for d in self.logs_datasets for url in d.dashboards)
        return tuple(sorted(urls))

    def metric(self, name: str) -> Metric:
        """The metric called ``name``; KeyError naming the ones there are otherwise."""
        for metric in self.metrics:
            if metric.name == name:
                return metric
        known = ", ".join(m.name for m in self.metrics) or "none"
        raise KeyError(f"no metric {name!r} in {self.iri} (it has: {known})")


class Sample(NamedTuple):
    """One point of a series: Unix time in seconds and the value (NaN and ±Inf included)."""

    timestamp: float
    value: float


@dataclass(frozen=True, slots=True)
class Series:
    """One series of a range query: its labels (empty for an aggregate without ``by``) and its
    samples in time order."""

    labels: dict[str, str]
    samples: tuple[Sample, ...]

    def __hash__(self) -> int:  # labels is a dict: hash what identifies the series
        return hash((tuple(sorted(self.labels.items())), self.samples))
