"""Object → document, as tables: what each kind of object says in its subgraphs."""

from __future__ import annotations

import pytest

from kg_exporter.errors import RenderError
from kg_exporter.identity import SubgraphKind
from kg_exporter.render.facts import Lifecycle
from kg_exporter.render.renderer import Renderer
from kg_exporter.state.lifecycle import Outcome, Phase
from tests.render import fixtures as f
from tests.render.graph import by_id, of_type, one, promql

RUNNING_SINCE = [
    {"type": "Available", "status": "True", "lastTransitionTime": "2026-11-01T09:00:42Z"}
]


@pytest.mark.parametrize(
    ("obj", "phase", "start", "end", "outcome"),
    [
        (f.deployment(availableReplicas=1, conditions=RUNNING_SINCE), "running",
         "2026-11-01T09:00:42Z", None, None),
        (f.deployment(availableReplicas=0), "pending", None, None, None),
        (f.statefulset(ready=1), "running", None, None, None),
        (f.job(startTime="2026-11-20T02:00:05Z", active=1), "running", "2026-11-20T02:00:05Z",
         None, None),
        (f.job(startTime="2026-11-20T02:00:05Z", completionTime="2026-11-20T02:14:51Z",
               conditions=[{"type": "Complete", "status": "True"}]),
         "stopped", "2026-11-20T02:00:05Z", "2026-11-20T02:14:51Z", "succeeded"),
        (f.job(startTime="2026-11-20T02:00:05Z",
               conditions=[{"type": "Failed", "status": "True",
                            "lastTransitionTime": "2026-11-20T02:41:02Z"}]),
         "stopped", "2026-11-20T02:00:05Z", "2026-11-20T02:41:02Z", "failed"),
    ],
)  # fmt: skip
def test_status_follows_the_lifecycle_rules(
    renderer: Renderer, obj: dict, phase: str, start: str | None, end: str | None,
    outcome: str | None,
) -> None:  # fmt: skip
    workload, _ = renderer.workload(obj)
    status = one(workload.document, "glc:Status")
    assert status["kgx:phase"] == phase
    assert status.get("glc:startTime", {}).get("@value") == start
    assert status.get("glc:endTime", {}).get("@value") == end
    assert status.get("kgx:outcome") == outcome


def test_daemon_lifecycle_overrides_the_object(renderer: Renderer) -> None:
    lifecycle = Lifecycle(Phase.STOPPED, "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", None)
    workload, _ = renderer.workload(f.deployment(availableReplicas=1), lifecycle=lifecycle)
    status = one(workload.document, "glc:Status")
    assert status["kgx:phase"] == "stopped"
    assert status["glc:endTime"]["@value"] == "2026-01-02T00:00:00Z"


def test_workload_states_identity_images_resources(renderer: Renderer) -> None:
    workload, telemetry = renderer.workload(f.deployment(availableReplicas=1))
    assert workload.kind is SubgraphKind.WORKLOAD
    assert telemetry.kind is SubgraphKind.WORKLOAD_TELEMETRY
    main = one(workload.document, "k8s:Workload")
    assert "k8s:DeploymentWorkload" in main["@type"]
    assert "glc:AssignedTask" in main["@type"]
    assert (main["kgx:name"], main["kgx:namespace"], main["kgx:kind"]) == (
        "web",
        "shop",
        "Deployment",
    )
    assert main["kgx:appName"] == "storefront"
    assert main["kgx:uid"] == "uid-web"
    assert main["kgx:replicas"] == 2
    container = one(workload.document, "k8s:Container")
    assert container["k8s:hasContainerImage"] == "nginx:1.27"
    quantities = {q["kgx:resource"]: q for q in of_type(workload.document, "kgx:ResourceQuantity")}
    assert quantities["cpu"]["qudt:numericValue"] == 0.25
    assert quantities["memory"]["qudt:numericValue"] == 128 * 2**20
    assert quantities["memory"]["kgx:quantity"] == "128Mi"


def test_workload_and_telemetry_link_both_ways(renderer: Renderer) -> None:
    workload, telemetry = renderer.workload(f.deployment(availableReplicas=1))
    main = one(workload.document, "k8s:Workload")
    tele = one(telemetry.document, "kgx:Telemetry")
    assert main["kgx:hasTelemetry"]["@id"] == tele["@id"]
    assert tele["kgx:telemetryOf"]["@id"] == main["@id"]
    assert by_id(telemetry.document, main["@id"])["kgx:hasTelemetry"]["@id"] == tele["@id"]


def test_telemetry_names_prometheus_loki_and_grafana(renderer: Renderer) -> None:
    _, telemetry = renderer.workload(f.deployment(availableReplicas=1))
    doc = telemetry.document
    prometheus = one(doc, "kgx:PrometheusService")
    assert prometheus["dcat:endpointURL"]["@id"] == "http://prometheus.monitoring.svc:9090"
    loki = one(doc, "kgx:LokiService")
    assert loki["dcat:endpointURL"]["@id"] == "http://loki.monitoring.svc:3100"
    logs = one(doc, "kgx:LogsDataset")
    assert logs["kgx:logql"] == '{namespace="shop",pod=~"web-[456789bcdf]{1,10}-[bcdfghjklmnpqrstvwxz2456789]{5}"}'
    metrics = one(doc, "kgx:MetricsDataset")
    assert metrics["dcat:landingPage"]["@id"].startswith(
        "http://grafana.monitoring.svc:3000/d/kg-workload?var-namespace=shop&var-workload=web"
    )
    queries = promql(doc)
    assert set(queries) == {
        "cpu_usage",
        "mem_usage",
        "disk_usage",
        "network_usage",
        "energy_joules",
    }
    assert queries["cpu_usage"] == (
        '100 * sum(rate(container_cpu_usage_seconds_total{namespace="shop",'
        'pod=~"web-[456789bcdf]{1,10}-[bcdfghjklmnpqrstvwxz2456789]{5}",container!=""}[5m]))'
    )
    units = {m["kgx:metricName"]: m["qudt:unit"]["@id"] for m in of_type(doc, "kgx:Metric")}
    assert units["cpu_usage"] == "unit:PERCENT"
    assert units["mem_usage"] == "unit:MegaBYTE"


def test_gpu_workloads_get_gpu_metrics(renderer: Renderer) -> None:
    obj = f.deployment(availableReplicas=1)
    obj["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"] = {
        "nvidia.com/gpu": "1"
    }
    _, telemetry = renderer.workload(obj)
    assert "gpu_utilization" in promql(telemetry.document)


def test_statefulset_links_its_volume_claims(renderer: Renderer) -> None:
    workload, _ = renderer.workload(f.statefulset())
    claims = sorted(c["kgx:name"] for c in of_type(workload.document, "kgx:PersistentVolumeClaim"))
    assert claims == ["data-db-0", "data-db-1"]
    main = one(workload.document, "k8s:Workload")
    assert {d["@id"] for d in main["kgx:dependsOnData"]} == {
        c["@id"] for c in of_type(workload.document, "kgx:PersistentVolumeClaim")
    }


def test_declared_data_dependencies(renderer: Renderer) -> None:
    obj = f.deployment(availableReplicas=1)
    obj["metadata"]["annotations"] = {
        "kg-exporter.io/data-dependencies": "https://d.example/a, not-an-iri https://d.example/b"
    }
    workload, _ = renderer.workload(obj)
    main = one(workload.document, "k8s:Workload")
    assert [d["@id"] for d in main["kgx:dependsOnData"]] == [
        "https://d.example/a",
        "https://d.example/b",
    ]


def test_node_capacity_and_membership(renderer: Renderer) -> None:
    node, telemetry = renderer.node(f.node(gpus=2))
    main = one(node.document, "k8s:Node")
    assert main["k8s:hasArchitecture"] == "amd64"
    assert main["kgx:ready"] is True
    assert main["kgx:hasGpu"] is True
    assert (
        main["kgx:memberOf"]["@id"]
        == "https://kg-exporter.example.org/cluster1/glaciation-node/glaciation-node1"
    )
    gpu = [
        q
        for q in of_type(node.document, "kgx:ResourceQuantity")
        if q["kgx:resource"] == "nvidia.com/gpu"
    ]
    assert {q["kgx:section"] for q in gpu} == {"capacity", "allocatable"}
    queries = promql(telemetry.document)
    assert queries["cpu_usage"] == (
        '100 * (1 - avg(rate(node_cpu_seconds_total{instance=~"worker\\\\-1(:[0-9]+)?",mode="idle"}[5m])))'
    )
    assert "gpu_utilization" in queries


def test_glaciation_node_lists_members(renderer: Renderer) -> None:
    gnode, telemetry = renderer.glaciation_node(["b", "a", "a"])
    main = one(gnode.document, "kgx:GNode")
    assert main["glc:hasID"] == "glaciation-node1"
    assert main["kgx:url"]["@id"] == "https://glaciation-node1.example.org"
    assert [m["@id"].rsplit("/", 1)[1] for m in main["glc:hasSubResource"]] == ["a", "b"]
    queries = promql(telemetry.document)
    assert "pod" not in queries["cpu_usage"] and "instance" not in queries["mem_usage"]


def test_configured_label_names_are_used(monkeypatch: pytest.MonkeyPatch) -> None:
    from kg_exporter.settings import load_settings

    monkeypatch.setenv("KG_EXPORTER_LABELS__NAMESPACE", "exported_namespace")
    monkeypatch.setenv("KG_EXPORTER_LABELS__POD", "pod_name")
    _, telemetry = Renderer(load_settings()).workload(f.deployment(availableReplicas=1))
    assert all('exported_namespace="shop"' in q for q in promql(telemetry.document).values())
    assert all("pod_name=~" in q for q in promql(telemetry.document).values())


@pytest.mark.parametrize(
    "obj",
    [
        {"kind": "ConfigMap", "metadata": {"name": "x"}},
        {"kind": "Deployment", "metadata": {}},
        {"kind": "Deployment", "metadata": "not an object"},
        {"metadata": {"name": "x"}},
    ],
)
def test_objects_that_cannot_be_workloads_are_render_errors(renderer: Renderer, obj: dict) -> None:
    with pytest.raises(RenderError):
        renderer.workload(obj)


def test_wrong_types_everywhere_still_render(renderer: Renderer) -> None:
    obj = {
        "kind": "Deployment",
        "metadata": {"name": "odd", "labels": ["a"], "annotations": {"k": 5}, "uid": 7,
                     "creationTimestamp": "yesterday"},
        "spec": {"replicas": "three", "template": {"spec": {"containers": [
            "nope", {"name": "c", "image": 42, "resources": {"requests": {"cpu": "lots"}}}]}}},
        "status": {"availableReplicas": True, "conditions": "none"},
    }  # fmt: skip
    workload, _ = renderer.workload(obj)
    main = one(workload.document, "k8s:Workload")
    assert "kgx:uid" not in main and "kgx:createdAt" not in main and "kgx:replicas" not in main
    quantity = one(workload.document, "kgx:ResourceQuantity")
    assert quantity["kgx:quantity"] == "lots" and "qudt:numericValue" not in quantity
    assert one(workload.document, "glc:Status")["kgx:phase"] == "pending"


def test_outcome_enum_values() -> None:
    assert {o.value for o in Outcome} == {"succeeded", "failed"}


def test_a_node_that_left_is_stopped_with_an_end_time(renderer: Renderer) -> None:
    from kg_exporter.validate import assert_valid

    node, _ = renderer.node(f.node(), present=False, left_at="2026-11-21T10:00:00Z")
    status = one(node.document, "glc:Status")
    assert status["kgx:phase"] == "stopped"
    assert status["glc:endTime"]["@value"] == "2026-11-21T10:00:00Z"
    assert one(node.document, "k8s:Node")["kgx:ready"] is False
    assert_valid(node)
