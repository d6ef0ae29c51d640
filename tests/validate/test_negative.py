"""What the validator refuses, and that it says so in one readable line per problem."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pyld import jsonld

from kg_exporter.errors import ValidationFailed
from kg_exporter.identity import SubgraphKind
from kg_exporter.render.renderer import Renderer, Subgraph
from kg_exporter.validate import (
    RemoteDocumentRefused,
    assert_valid,
    refusing_loader,
    to_graph,
    validate_document,
)
from tests.validate.objects import CREATED, cases

REMOTE = "https://example.org/contexts/kg.jsonld"


def _node(document: dict[str, Any], type_: str) -> dict[str, Any]:
    for node in document["@graph"]:
        types = node.get("@type", [])
        if type_ in (types if isinstance(types, list) else [types]):
            return node  # type: ignore[no-any-return]
    raise AssertionError(f"no {type_} in the document")


def _pair(renderer: Renderer, name: str) -> tuple[Subgraph, ...]:
    return cases()[name](renderer)


@pytest.fixture
def workload(renderer: Renderer) -> dict[str, Any]:
    return copy.deepcopy(_pair(renderer, "deployment")[0].document)


@pytest.fixture
def telemetry(renderer: Renderer) -> dict[str, Any]:
    return copy.deepcopy(_pair(renderer, "deployment")[1].document)


def _messages(document: dict[str, Any], kind: SubgraphKind | None = None) -> str:
    report = validate_document(document, kind=kind)
    assert not report.conforms
    assert report.messages
    return "\n".join(report.messages)


# --- remote documents --------------------------------------------------------------------------


def test_the_loader_refuses_every_url() -> None:
    for url in (REMOTE, "http://example.org/x", "file:///etc/passwd"):
        with pytest.raises(RemoteDocumentRefused, match="refused"):
            refusing_loader(url, {})


def test_pyld_with_the_loader_cannot_fetch_a_remote_context() -> None:
    with pytest.raises(jsonld.JsonLdError):
        jsonld.expand({"@context": REMOTE, "@id": "urn:x"}, {"documentLoader": refusing_loader})


@pytest.mark.parametrize(
    "context",
    [REMOTE, [REMOTE, {"x": "urn:x:"}], {"@import": REMOTE}],
    ids=["url", "list", "import"],
)
def test_a_remote_context_is_refused(workload: dict[str, Any], context: Any) -> None:
    workload["@context"] = context
    with pytest.raises(RemoteDocumentRefused, match=REMOTE):
        to_graph(workload)
    assert REMOTE in _messages(workload)


def test_a_scoped_remote_context_is_refused(workload: dict[str, Any]) -> None:
    workload["@graph"][0]["@context"] = REMOTE
    assert "refused" in _messages(workload)


def test_pylds_shared_cache_cannot_serve_a_remote_context(workload: dict[str, Any]) -> None:
    """Some other code fetching the context (pyld caches it process-wide) must not open the door."""
    served = {"contextUrl": None, "documentUrl": REMOTE, "document": {"@context": {}}}
    jsonld.expand({"@context": REMOTE, "@id": "urn:x"}, {"documentLoader": lambda u, o: served})
    workload["@context"] = REMOTE
    with pytest.raises(RemoteDocumentRefused):
        to_graph(workload)


# --- required properties, values -----------------------------------------------------------------


def test_a_workload_without_a_name(workload: dict[str, Any]) -> None:
    del _node(workload, "k8s:Workload")["kgx:name"]
    text = _messages(workload)
    assert "/cluster1/deployment/shop/web> — kgx:name — missing: at least 1 value required" in text


def test_a_metric_without_promql(telemetry: dict[str, Any]) -> None:
    del _node(telemetry, "kgx:Metric")["kgx:promql"]
    assert "— kgx:promql — kgx:promql must be exactly one non-blank PromQL query" in _messages(
        telemetry
    )


def test_a_blank_promql(telemetry: dict[str, Any]) -> None:
    _node(telemetry, "kgx:Metric")["kgx:promql"] = "  \n"
    assert "kgx:promql" in _messages(telemetry)


def test_a_logql_that_is_not_a_selector(telemetry: dict[str, Any]) -> None:
    _node(telemetry, "kgx:LogsDataset")["kgx:logql"] = "namespace=shop"
    assert "— kgx:logql — kgx:logql must be a non-empty LogQL stream selector" in _messages(
        telemetry
    )


def test_a_bogus_phase(workload: dict[str, Any]) -> None:
    _node(workload, "glc:Status")["kgx:phase"] = "bogus"
    text = _messages(workload)
    assert '/status> — kgx:phase — "bogus" is not one of ("pending" "running" "stopped")' in text


def test_a_bogus_outcome(renderer: Renderer) -> None:
    document = copy.deepcopy(_pair(renderer, "job-complete")[0].document)
    _node(document, "glc:Status")["kgx:outcome"] = "maybe"
    assert '"maybe" is not one of ("succeeded" "failed")' in _messages(document)


def test_an_end_before_it_stopped(workload: dict[str, Any]) -> None:
    _node(workload, "glc:Status")["glc:endTime"] = {"@value": CREATED, "@type": "xsd:dateTime"}
    text = _messages(workload)
    assert "— glc:endTime — only stated once the phase is stopped (phase is running)" in text
    assert "— glc:endTime — glc:endTime is before glc:startTime" in text


def test_a_time_that_is_not_a_datetime(workload: dict[str, Any]) -> None:
    _node(workload, "k8s:Workload")["kgx:createdAt"] = "yesterday"
    assert '— kgx:createdAt — "yesterday" is not a valid xsd:dateTime' in _messages(workload)


def test_a_link_that_is_a_string(workload: dict[str, Any]) -> None:
    _node(workload, "k8s:Workload")["kgx:inCluster"] = "glaciation-node1"
    assert '— kgx:inCluster — "glaciation-node1" must be an IRI' in _messages(workload)


def test_a_link_to_an_entity_missing_from_the_subgraph(workload: dict[str, Any]) -> None:
    workload["@graph"] = [n for n in workload["@graph"] if n.get("@type") != "k8s:Container"]
    assert "must be typed k8s:Container in this subgraph" in _messages(workload)


def test_a_node_description_needs_its_telemetry(renderer: Renderer) -> None:
    document = copy.deepcopy(_pair(renderer, "gpu-node")[0].document)
    del _node(document, "k8s:Node")["kgx:hasTelemetry"]
    text = _messages(document)
    assert "/node/gpu-1> — kgx:hasTelemetry — missing: a node described in its own subgraph" in text


def test_a_member_reference_needs_only_name_and_membership(renderer: Renderer) -> None:
    gnode, _ = _pair(renderer, "glaciation-node")
    assert validate_document(gnode.document).conforms
    document = copy.deepcopy(gnode.document)
    del _node(document, "k8s:Node")["kgx:memberOf"]
    assert "— kgx:memberOf — missing" in _messages(document)


def test_the_telemetry_back_link_is_required(telemetry: dict[str, Any]) -> None:
    telemetry["@graph"] = [n for n in telemetry["@graph"] if "@type" in n]
    assert "— ^kgx:hasTelemetry — the telemetry subgraph states the back-link" in _messages(
        telemetry
    )


# --- JSON-LD that the stores would mangle ------------------------------------------------------


def test_a_blank_node_is_reported(workload: dict[str, Any]) -> None:
    del _node(workload, "glc:Status")["@id"]
    text = _messages(workload)
    assert "blank node: a top-level node (has glc:startTime, kgx:phase, rdf:type)" in text
    with pytest.raises(ValidationFailed, match="blank node"):
        to_graph(workload)


def test_a_nested_node_without_id_is_reported(workload: dict[str, Any]) -> None:
    _node(workload, "k8s:Workload")["glc:hasStatus"] = {"kgx:phase": "running"}
    assert (
        "blank node: value of <https://kg-exporter.example.org/cluster1/deployment/shop/web>"
        " glc:hasStatus (has kgx:phase)" in _messages(workload)
    )


def test_a_key_the_context_does_not_define(workload: dict[str, Any]) -> None:
    _node(workload, "k8s:Workload")["name"] = "web"
    assert "key 'name' is not defined by the @context" in _messages(workload)


def test_a_relative_iri(workload: dict[str, Any]) -> None:
    _node(workload, "k8s:Workload")["kgx:runsOn"] = [{"@id": "node/worker-1"}]
    assert "relative IRI 'node/worker-1'" in _messages(workload)


def test_an_undeclared_kgx_term(workload: dict[str, Any]) -> None:
    _node(workload, "k8s:Workload")["kgx:colour"] = "blue"
    assert "kgx:colour — (vocabulary) — not declared in ontology/kgx.ttl" in _messages(workload)


def test_an_undefined_prefix(workload: dict[str, Any]) -> None:
    _node(workload, "k8s:Workload")["kgz:name"] = "web"
    assert "<kgz:name> — (vocabulary) — not a web IRI" in _messages(workload)


def test_an_empty_document() -> None:
    assert "states no triple" in _messages({"@graph": []})


def test_not_json_ld() -> None:
    assert "not valid JSON-LD" in _messages({"@context": {"@id": 5}, "@id": "urn:x"})


# --- kinds and assert_valid ---------------------------------------------------------------------


def test_a_document_of_the_wrong_kind(renderer: Renderer) -> None:
    _, node_telemetry = _pair(renderer, "gpu-node")
    text = _messages(node_telemetry.document, SubgraphKind.WORKLOAD_TELEMETRY)
    assert (
        "workload-telemetry subgraph — rdf:type — describes 0 kgx:LogsDataset, expected 1" in text
    )


def test_assert_valid_names_the_subgraph(renderer: Renderer) -> None:
    workload, _ = _pair(renderer, "deployment")
    broken = Subgraph(workload.id, workload.kind, copy.deepcopy(workload.document))
    del _node(broken.document, "k8s:Workload")["kgx:name"]
    with pytest.raises(ValidationFailed, match=r"cluster1:workload:deployment:shop:web does not"):
        assert_valid(broken)
    with pytest.raises(ValidationFailed, match="kgx:name — missing"):
        assert_valid(broken.document)
