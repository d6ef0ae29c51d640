"""A telemetry subgraph → :class:`~kg_exporter.read.model.Telemetry`, by following the vocabulary.

The traversal starts at the ``kgx:Telemetry`` node and follows ``kgx:hasDataset`` to each dataset,
``kgx:dataSource`` (or the inverse ``dcat:servesDataset``) to the service and its
``dcat:endpointURL``, ``kgx:hasMetric`` to the metrics, ``kgx:hasDashboard``/``dcat:landingPage``
to the dashboards. It never looks at the JSON layout, so a user's own template that keeps these
terms reads the same as the bundled ones, however it nests, orders or abbreviates them.

What a reader cannot do without — a metric without a name or query, a dataset without the URL of
its service — is a :class:`~kg_exporter.errors.TelemetryParseError` naming the node. Datasets of
other kinds, and statements the reader does not know, are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable

import rdflib
from rdflib.term import Node

from kg_exporter.errors import TelemetryParseError
from kg_exporter.read import vocabulary as v
from kg_exporter.read.model import LogsDataset, Metric, MetricsDataset, Telemetry
from kg_exporter.read.rdf import Source, as_graph


def parse_telemetry(source: Source, *, subject: str | None = None) -> Telemetry:
    """The telemetry a workload, node or glaciation node telemetry subgraph describes.

    ``source`` is the JSON-LD document (as a dict or text, e.g. what the Metadata Service
    returns) or an rdflib graph. When it holds several telemetry nodes (a merged graph), pass the
    IRI of the ``subject`` whose telemetry is wanted.
    """
    graph = as_graph(source)
    node = _telemetry_node(graph, subject)
    about = _first(graph.objects(node, v.TELEMETRY_OF)) or _first(
        graph.subjects(v.HAS_TELEMETRY, node)
    )
    if about is None:
        raise TelemetryParseError(f"telemetry node {_id(node)} says what it is the telemetry of")
    metrics: list[MetricsDataset] = []
    logs: list[LogsDataset] = []
    for dataset in _sorted(graph.objects(node, v.HAS_DATASET)):
        if (dataset, v.TYPE, v.METRICS_DATASET) in graph or _first(
            graph.objects(dataset, v.HAS_METRIC)
        ):
            metrics.append(_metrics_dataset(graph, dataset))
        elif (dataset, v.TYPE, v.LOGS_DATASET) in graph or _first(graph.objects(dataset, v.LOGQL)):
            logs.append(_logs_dataset(graph, dataset))
    if not metrics and not logs:
        raise TelemetryParseError(
            f"telemetry node {_id(node)} has no metrics or logs dataset (kgx:hasDataset)"
        )
    return Telemetry(_id(node), _id(about), tuple(metrics), tuple(logs))


def _telemetry_node(graph: rdflib.Graph, subject: str | None) -> Node:
    candidates = set(graph.subjects(v.TYPE, v.TELEMETRY))
    candidates.update(graph.subjects(v.TELEMETRY_OF, None))
    # A subject's link alone names the telemetry of a workload or node subgraph, which does
    # not describe it: only a linked node that has datasets here counts.
    candidates.update(
        t for t in graph.objects(None, v.HAS_TELEMETRY) if _first(graph.objects(t, v.HAS_DATASET))
    )
    if subject is not None:
        wanted = rdflib.URIRef(subject)
        candidates = {
            c
            for c in candidates
            if (c, v.TELEMETRY_OF, wanted) in graph or (wanted, v.HAS_TELEMETRY, c) in graph
        }
    if not candidates:
        about = f" of {subject}" if subject is not None else ""
        raise TelemetryParseError(
            f"no telemetry node{about}: nothing is typed kgx:Telemetry or linked by "
            "kgx:telemetryOf / kgx:hasTelemetry"
        )
    if len(candidates) > 1:
        names = ", ".join(_id(c) for c in _sorted(candidates))
        raise TelemetryParseError(
            f"{len(candidates)} telemetry nodes ({names}); pass subject= to choose one"
        )
    return candidates.pop()


def _metrics_dataset(graph: rdflib.Graph, dataset: Node) -> MetricsDataset:
    url = _source_url(graph, dataset, v.PROMETHEUS_SERVICE, "prometheus")
    metrics = [_metric(graph, node, url) for node in _sorted(graph.objects(dataset, v.HAS_METRIC))]
    metrics.sort(key=lambda m: m.name)
    return MetricsDataset(
        _id(dataset),
        url,
        tuple(metrics),
        _dashboards(graph, dataset),
        _text(graph, dataset, v.POD_SELECTION),
    )


def _logs_dataset(graph: rdflib.Graph, dataset: Node) -> LogsDataset:
    url = _source_url(graph, dataset, v.LOKI_SERVICE, "loki")
    logql = _text(graph, dataset, v.LOGQL)
    if logql is None:
        raise TelemetryParseError(f"logs dataset {_id(dataset)} has no LogQL selector (kgx:logql)")
    return LogsDataset(
        _id(dataset), url, logql, _dashboards(graph, dataset), _text(graph, dataset, v.POD_SELECTION)
    )


def _metric(graph: rdflib.Graph, node: Node, prometheus_url: str) -> Metric:
    name = _text(graph, node, v.METRIC_NAME)
    promql = _text(graph, node, v.PROMQL)
    if name is None or promql is None:
        missing = " and ".join(
            term
            for term, value in (("kgx:metricName", name), ("kgx:promql", promql))
            if value is None
        )
        raise TelemetryParseError(f"metric {_id(node)} has no {missing}")
    unit = _first(_sorted(graph.objects(node, v.UNIT)))
    return Metric(
        name=name,
        promql=promql,
        unit=str(unit) if unit is not None else None,
        unit_label=_text(graph, node, v.UNIT_LABEL),
        label=_text(graph, node, v.LABEL),
        prometheus_url=prometheus_url,
        iri=_id(node),
    )


def _source_url(graph: rdflib.Graph, dataset: Node, service_class: Node, service_type: str) -> str:
    """The endpoint URL of the dataset's data source; a service typed for the dataset's kind
    wins over an untyped one (a custom template may link Grafana as a source too)."""
    sources = set(graph.objects(dataset, v.DATA_SOURCE)) | set(
        graph.subjects(v.SERVES_DATASET, dataset)
    )
    with_url: list[tuple[Node, str]] = []
    for source in _sorted(sources):
        url = _url(graph, source)
        if url is not None:
            with_url.append((source, url))

    def typed(source: Node) -> bool:
        kind = _text(graph, source, v.SERVICE_TYPE)
        return (source, v.TYPE, service_class) in graph or (kind or "").lower() == service_type

    preferred = [url for s, url in with_url if typed(s)] or [url for _, url in with_url]
    if not preferred:
        raise TelemetryParseError(
            f"dataset {_id(dataset)} has no {service_type} data source with a URL "
            "(kgx:dataSource → dcat:endpointURL)"
        )
    return preferred[0]


def _url(graph: rdflib.Graph, service: Node) -> str | None:
    value = _first(_sorted(graph.objects(service, v.ENDPOINT_URL)))
    return str(value) if value is not None else None


def _dashboards(graph: rdflib.Graph, dataset: Node) -> tuple[str, ...]:
    urls: set[str] = set()
    for link in (v.HAS_DASHBOARD, v.LANDING_PAGE):
        for target in graph.objects(dataset, link):
            if isinstance(target, rdflib.BNode):
                # A dashboard described by a node without an IRI: its page is the URL.
                page = _first(graph.objects(target, v.LANDING_PAGE)) or _first(
                    graph.objects(target, v.ENDPOINT_URL)
                )
                if page is not None:
                    urls.add(str(page))
            else:
                urls.add(str(target))
    return tuple(sorted(urls))


def _text(graph: rdflib.Graph, node: Node, predicate: Node) -> str | None:
    """The value of a literal property; the smallest when there are several, so the answer is
    the same whatever order the store returns them in."""
    values = sorted(str(o) for o in graph.objects(node, predicate) if isinstance(o, rdflib.Literal))
    return values[0] if values else None


def _first(nodes: Iterable[Node]) -> Node | None:
    return next(iter(nodes), None)


def _sorted(nodes: Iterable[Node]) -> list[Node]:
    return sorted(nodes, key=_id)


def _id(node: Node) -> str:
    return f"_:{node}" if isinstance(node, rdflib.BNode) else str(node)
