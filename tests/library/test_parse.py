"""Telemetry subgraphs → typed values, from the RDF: the bundled templates' output, and documents
written by hand in other layouts that keep the vocabulary."""

from __future__ import annotations

import json
from typing import Any

import pyoxigraph as ox
import pytest
import rdflib

from kg_exporter import Telemetry, TelemetryParseError, parse_telemetry
from kg_exporter.identity import SubgraphKind
from kg_exporter.render.batch import render_objects
from kg_exporter.render.renderer import Renderer, Subgraph
from tests.conftest import example_objects

KGX = "https://w3id.org/kg-exporter/vocab#"
DCAT = "http://www.w3.org/ns/dcat#"
TELEMETRY_KINDS = {
    SubgraphKind.WORKLOAD_TELEMETRY,
    SubgraphKind.NODE_TELEMETRY,
    SubgraphKind.GLACIATION_NODE_TELEMETRY,
}


def telemetry_subgraphs(renderer: Renderer) -> dict[str, Subgraph]:
    rendered = render_objects(((o, "t") for o in example_objects()), renderer)
    return {s.id: s for s in rendered if isinstance(s, Subgraph) and s.kind in TELEMETRY_KINDS}


def test_every_bundled_telemetry_subgraph_parses(renderer: Renderer) -> None:
    subgraphs = telemetry_subgraphs(renderer)
    assert {s.kind for s in subgraphs.values()} == TELEMETRY_KINDS
    for subgraph in subgraphs.values():
        telemetry = parse_telemetry(subgraph.document)
        assert telemetry.prometheus_url == "http://prometheus.monitoring.svc:9090"
        assert len(telemetry.metrics) >= 5
        assert telemetry.dashboards
        assert all(m.promql and m.unit and m.unit_label for m in telemetry.metrics)
        has_logs = subgraph.kind is SubgraphKind.WORKLOAD_TELEMETRY
        assert (telemetry.loki_url is not None) == has_logs
        assert (telemetry.logql is not None) == has_logs
        # Workloads say how their pods are selected (by name unless their kind opts in to labels).
        selections = {d.pod_selection for d in telemetry.metrics_datasets + telemetry.logs_datasets}
        assert selections == ({"pod-name"} if has_logs else {None})


def test_a_workload_telemetry_says_exactly_what_the_template_wrote(renderer: Renderer) -> None:
    subgraph = telemetry_subgraphs(renderer)["cluster1:workload-telemetry:deployment:shop:web"]
    telemetry = parse_telemetry(subgraph.document)
    base = "https://kg-exporter.example.org/cluster1/deployment/shop/web"
    assert telemetry.iri == base + "/telemetry"
    assert telemetry.subject == base
    assert [m.name for m in telemetry.metrics] == [
        "cpu_usage",
        "disk_usage",
        "energy_joules",
        "mem_usage",
        "network_usage",
    ]
    cpu = telemetry.metric("cpu_usage")
    assert cpu.unit == "http://qudt.org/vocab/unit/PERCENT"
    assert cpu.unit_label == "%"
    assert cpu.label == "CPU usage"
    assert cpu.promql == (
        '100 * sum(rate(container_cpu_usage_seconds_total{namespace="shop",'
        'pod=~"web-[456789bcdf]{1,10}-[bcdfghjklmnpqrstvwxz2456789]{5}",container!=""}[5m]))'
    )
    assert cpu.prometheus_url == telemetry.prometheus_url
    assert cpu.iri == base + "/telemetry/metrics/cpu_usage"
    assert telemetry.loki_url == "http://loki.monitoring.svc:3100"
    assert (
        telemetry.logql
        == '{namespace="shop",pod=~"web-[456789bcdf]{1,10}-[bcdfghjklmnpqrstvwxz2456789]{5}"}'
    )
    grafana = "http://grafana.monitoring.svc:3000/d/"
    assert telemetry.dashboards == (
        grafana + "kg-workload-logs?var-namespace=shop&var-workload=web&var-kind=Deployment",
        grafana + "kg-workload?var-namespace=shop&var-workload=web&var-kind=Deployment",
    )
    with pytest.raises(KeyError, match=r"no metric 'gpu_utilization'.*cpu_usage"):
        telemetry.metric("gpu_utilization")


def test_text_and_rdflib_graphs_are_read_too(renderer: Renderer) -> None:
    subgraph = telemetry_subgraphs(renderer)["cluster1:node-telemetry:gpu-1"]
    from_dict = parse_telemetry(subgraph.document)
    text = json.dumps(subgraph.document)
    n_triples = ox.serialize(
        ox.parse(text, format=ox.RdfFormat.JSON_LD), format=ox.RdfFormat.N_QUADS
    )
    graph = rdflib.Graph().parse(data=n_triples, format="nt")
    assert parse_telemetry(text) == from_dict
    assert parse_telemetry(text.encode()) == from_dict
    assert parse_telemetry(graph) == from_dict
    assert "gpu_utilization" in {m.name for m in from_dict.metrics}


# A user's own template: nested node objects, blank nodes where the bundled one mints IRIs,
# expanded IRIs and @vocab instead of the product's prefixes, the endpoint as a typed literal,
# the dataset → service link only in the inverse direction, another property order, and
# statements the reader does not know about.
HAND_WRITTEN: dict[str, Any] = {
    "@context": {
        "@vocab": KGX,
        "dcat": DCAT,
        "label": "http://www.w3.org/2000/01/rdf-schema#label",
        "unit": {"@id": "http://qudt.org/schema/qudt/unit", "@type": "@id"},
    },
    "@id": "urn:example:training-job",
    "hasTelemetry": {
        "@id": "urn:example:training-job/telemetry",
        "hasDataset": [
            {
                "@type": "LogsDataset",
                "logql": '{app="trainer"}',
                f"{KGX}dataSource": {
                    "dcat:endpointURL": {
                        "@value": "https://loki.example.org",
                        "@type": "http://www.w3.org/2001/XMLSchema#anyURI",
                    },
                    "@type": "LokiService",
                },
            },
            {
                "hasMetric": [
                    {
                        "promql": "sum(rate(gpu_seconds_total[1m]))",
                        "metricName": "gpu_time",
                        "unit": "http://qudt.org/vocab/unit/SEC",
                        "unitLabel": "s",
                    },
                    {"metricName": "loss", "promql": 'avg(trainer_loss{run="42"})'},
                ],
                "hasDashboard": {
                    "@type": "Dashboard",
                    "dcat:landingPage": {"@id": "https://grafana.example.org/d/train"},
                },
                "@type": f"{KGX}MetricsDataset",
                "ownerTeam": "ml-platform",
            },
        ],
    },
    "@reverse": {
        f"{DCAT}servesDataset": [],
    },
}
HAND_WRITTEN["hasTelemetry"]["hasDataset"][1]["@reverse"] = {
    f"{DCAT}servesDataset": {
        "@id": "urn:example:prometheus",
        "@type": [f"{KGX}PrometheusService"],
        f"{DCAT}endpointURL": {"@id": "https://prometheus.example.org/"},
    }
}


def test_a_hand_written_document_in_another_layout_parses() -> None:
    telemetry = parse_telemetry(HAND_WRITTEN)
    assert telemetry.subject == "urn:example:training-job"
    assert telemetry.iri == "urn:example:training-job/telemetry"
    assert telemetry.prometheus_url == "https://prometheus.example.org/"
    assert [(m.name, m.promql, m.unit, m.unit_label) for m in telemetry.metrics] == [
        ("gpu_time", "sum(rate(gpu_seconds_total[1m]))", "http://qudt.org/vocab/unit/SEC", "s"),
        ("loss", 'avg(trainer_loss{run="42"})', None, None),
    ]
    assert telemetry.loki_url == "https://loki.example.org"
    assert telemetry.logql == '{app="trainer"}'
    assert telemetry.dashboards == ("https://grafana.example.org/d/train",)


def test_property_order_and_prefixes_do_not_matter(renderer: Renderer) -> None:
    """The bundled document with every key reversed and every compact IRI expanded."""
    subgraph = telemetry_subgraphs(renderer)["cluster1:workload-telemetry:job:ml:train-forecast"]
    context = subgraph.document["@context"]
    prefixes = {k: v for k, v in context.items() if isinstance(v, str) and not k.startswith("@")}

    def expand(value: Any) -> Any:
        if isinstance(value, dict):
            return {expand_key(k): expand(v) for k, v in reversed(list(value.items()))}
        if isinstance(value, list):
            return [expand(v) for v in reversed(value)]
        if isinstance(value, str):
            prefix, colon, rest = value.partition(":")
            if colon and prefix in prefixes and not rest.startswith("//"):
                return prefixes[prefix] + rest
        return value

    def expand_key(key: str) -> str:
        return key if key.startswith("@") else expand(key)

    expanded = {"@graph": expand(subgraph.document["@graph"])}
    assert "@context" not in expanded
    assert parse_telemetry(expanded) == parse_telemetry(subgraph.document)


def _document(*nodes: dict[str, Any]) -> dict[str, Any]:
    return {"@context": {"@vocab": KGX, "dcat": DCAT}, "@graph": list(nodes)}


TELEMETRY_NODE = {
    "@id": "urn:t",
    "@type": "Telemetry",
    "telemetryOf": {"@id": "urn:s"},
    "hasDataset": {"@id": "urn:d"},
}
PROMETHEUS = {"@id": "urn:p", "@type": "PrometheusService", "dcat:endpointURL": {"@id": "http://p"}}


@pytest.mark.parametrize(
    ("nodes", "message"),
    [
        ((), "no telemetry node"),
        (
            (TELEMETRY_NODE, {**TELEMETRY_NODE, "@id": "urn:t2"}),
            "2 telemetry nodes .*pass subject=",
        ),
        (
            ({**TELEMETRY_NODE, "telemetryOf": None},),
            "says what it is the telemetry of",
        ),
        ((TELEMETRY_NODE,), "no metrics or logs dataset"),
        (
            (
                TELEMETRY_NODE,
                {"@id": "urn:d", "@type": "MetricsDataset", "dataSource": {"@id": "urn:p"}},
                {"@id": "urn:p", "@type": "PrometheusService"},
            ),
            "dataset urn:d has no prometheus data source with a URL",
        ),
        (
            (
                TELEMETRY_NODE,
                PROMETHEUS,
                {
                    "@id": "urn:d",
                    "@type": "MetricsDataset",
                    "dataSource": {"@id": "urn:p"},
                    "hasMetric": {"@id": "urn:m", "metricName": "cpu"},
                },
            ),
            "metric urn:m has no kgx:promql",
        ),
        (
            (
                TELEMETRY_NODE,
                {
                    "@id": "urn:d",
                    "@type": "LogsDataset",
                    "dataSource": {"@id": "urn:l", "dcat:endpointURL": {"@id": "http://l"}},
                },
            ),
            "logs dataset urn:d has no LogQL selector",
        ),
    ],
)
def test_what_a_reader_cannot_do_without_is_a_clear_error(
    nodes: tuple[dict[str, Any], ...], message: str
) -> None:
    cleaned = [{k: v for k, v in n.items() if v is not None} for n in nodes]
    with pytest.raises(TelemetryParseError, match=message):
        parse_telemetry(_document(*cleaned))


def test_subject_chooses_among_several_telemetry_nodes() -> None:
    other = {**TELEMETRY_NODE, "@id": "urn:t2", "telemetryOf": {"@id": "urn:s2"}}
    dataset = {
        "@id": "urn:d",
        "@type": "MetricsDataset",
        "dataSource": {"@id": "urn:p"},
        "hasMetric": {"@id": "urn:m", "metricName": "cpu", "promql": "up"},
    }
    document = _document(TELEMETRY_NODE, other, PROMETHEUS, dataset)
    chosen = parse_telemetry(document, subject="urn:s2")
    assert isinstance(chosen, Telemetry)
    assert (chosen.iri, chosen.subject, chosen.prometheus_url) == ("urn:t2", "urn:s2", "http://p")
    with pytest.raises(TelemetryParseError, match="no telemetry node of urn:nothing"):
        parse_telemetry(document, subject="urn:nothing")


@pytest.mark.parametrize(
    "source",
    [
        {"@context": "https://example.org/remote-context.jsonld", "@id": "urn:x"},
        "not json",
        b"[1, 2",
    ],
)
def test_input_that_cannot_be_read_offline_is_refused(source: Any) -> None:
    with pytest.raises(
        TelemetryParseError, match="not a JSON-LD document that can be read offline"
    ):
        parse_telemetry(source)


def _deep_text(depth: int) -> str:
    # Node objects nested inside each other: each level a triple for pyoxigraph to recurse into.
    return '{"@id": "urn:a", "urn:p": ' + '{"urn:p": ' * depth + '"x"' + "}" * depth + "}"


def _deep_dict(depth: int) -> dict[str, Any]:
    value: Any = "x"
    for _ in range(depth):
        value = {"urn:p": value}
    return {"@id": "urn:a", "urn:p": value}


@pytest.mark.parametrize(
    "source",
    [_deep_text(20_000), _deep_text(20_000).encode(), _deep_dict(300), _deep_dict(5_000)],
    ids=["text", "bytes", "dict 300 deep", "dict 5,000 deep"],
)
def test_a_document_nested_past_the_parser_is_refused_not_a_crash(source: Any) -> None:
    # pyoxigraph's JSON-LD parser overflows the native stack (SIGSEGV) ~10,000 levels down.
    with pytest.raises(TelemetryParseError, match="nests"):
        parse_telemetry(source)
