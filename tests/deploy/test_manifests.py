"""deploy/ rendered by kustomize: every object valid against the Kubernetes (and Prometheus
Operator) schemas, RBAC exactly what the daemon uses, pods hardened, and the pieces agreeing with
each other (ports, paths, names, settings)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from kg_exporter.commands.rbac import cluster_role
from kg_exporter.kinds import bundled_registry
from kg_exporter.settings import Settings
from tests.deploy.manifests import KUSTOMIZATIONS, REPO, Obj, find, one, pod_specs, render
from tests.support.processes import IN_CI

# Oldest Kubernetes still supported by its maintainers when this was written, and the newest
# the schemas know: an object valid on both is valid in between.
KUBERNETES_VERSIONS = ("1.31.0", "1.37.0")
CRD_KINDS = {"ServiceMonitor", "PrometheusRule"}
CRD_VALIDATOR = REPO / "tests" / "deploy" / "crd"
EXPORTER = "kg-exporter"


@pytest.fixture(params=sorted(KUSTOMIZATIONS))
def objects(request: pytest.FixtureRequest) -> list[Obj]:
    return render(KUSTOMIZATIONS[request.param])


def test_every_object_validates_against_the_kubernetes_schemas(objects: list[Obj]) -> None:
    try:
        import kubernetes_validate
    except ImportError:
        message = "kubernetes-validate is not installed (pip install kubernetes-validate)"
        if IN_CI:
            pytest.fail(message + " — required under CI=true")
        pytest.skip(message)
    checked = 0
    for obj in objects:
        if obj["kind"] in CRD_KINDS:
            continue
        for version in KUBERNETES_VERSIONS:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                path = ".".join(str(p) for p in exc.path)
                pytest.fail(
                    f"{obj['kind']}/{obj['metadata']['name']} @ {version}: {path}: {exc.message}"
                )
        checked += 1
    assert checked >= 9


def test_monitoring_objects_validate_against_the_prometheus_operator_schemas(
    objects: list[Obj],
) -> None:
    node = shutil.which("node")
    if node is None or not (CRD_VALIDATOR / "node_modules").is_dir():
        message = f"node and `npm ci --prefix {CRD_VALIDATOR.relative_to(REPO)}` needed"
        if IN_CI:
            pytest.fail(message + " (under CI=true .ci/run must install them)")
        pytest.skip(message)
    crds = [o for o in objects if o["kind"] in CRD_KINDS]
    result = subprocess.run(
        [node, str(CRD_VALIDATOR / "validate.mjs")],
        input=json.dumps(crds),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    verdicts = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(verdicts) == len(crds) >= 2
    assert [v for v in verdicts if v["error"]] == []


def test_monitoring_objects_are_shaped_as_the_operator_reads_them(objects: list[Obj]) -> None:
    """What the schema cannot say: it ignores unknown fields, and alerts need these."""
    for monitor in find(objects, "ServiceMonitor"):
        assert set(monitor["spec"]) <= {"selector", "endpoints", "namespaceSelector", "jobLabel"}
        for endpoint in monitor["spec"]["endpoints"]:
            assert set(endpoint) <= {"port", "path", "interval", "scrapeTimeout"}
    for rule in one(objects, "PrometheusRule")["spec"]["groups"][0]["rules"]:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"] and rule["annotations"]["runbook"]


def test_the_cluster_role_grants_read_of_exactly_the_watched_kinds(objects: list[Obj]) -> None:
    role = one(objects, "ClusterRole", EXPORTER)
    granted = {
        (group, resource, frozenset(rule["verbs"]))
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }
    read = frozenset({"get", "list", "watch"})
    wanted = {(k.group, k.plural, read) for k in bundled_registry().specs()}
    wanted.add(("", "nodes", read))
    if _daemon_reads_pods():
        wanted.add(("", "pods", read))
    assert granted == wanted
    # Exactly what `kg-exporter rbac` prints for the bundled kinds, so the two cannot drift.
    printed = cluster_role(bundled_registry().specs())
    assert role["rules"] == printed["rules"]
    assert printed["metadata"]["labels"].items() <= role["metadata"]["labels"].items()
    assert all("resourceNames" not in rule for rule in role["rules"])
    assert [o["metadata"]["name"] for o in find(objects, "ClusterRole")] == [EXPORTER]


def _daemon_reads_pods() -> bool:
    """Whether the daemon's watch code lists or watches pods (then, and only then, it may)."""
    sources = (REPO / "kg_exporter" / "watch").glob("**/*.py")
    pods = any("_pod(" in p.read_text() or '"pods"' in p.read_text() for p in sources)
    return pods or any(k.plural == "pods" for k in bundled_registry().specs())


def test_the_lease_role_is_namespaced_and_limited_to_the_lease(objects: list[Obj]) -> None:
    role = one(objects, "Role", "kg-exporter-leader-election")
    rules = {
        (frozenset(r["verbs"]), tuple(r.get("resourceNames", ())))
        for r in role["rules"]
        if r["apiGroups"] == ["coordination.k8s.io"] and r["resources"] == ["leases"]
    }
    assert len(rules) == len(role["rules"])
    config = exporter_config(objects)
    assert rules == {
        (frozenset({"create"}), ()),
        (frozenset({"get", "update"}), (config["leader"]["lease_name"],)),
    }
    assert [o["metadata"]["name"] for o in find(objects, "Role")] == [role["metadata"]["name"]]


def test_bindings_give_the_roles_to_the_exporters_service_account(objects: list[Obj]) -> None:
    account = one(objects, "ServiceAccount", EXPORTER)
    namespace = account["metadata"]["namespace"]
    for kind, role_kind, role in (
        ("ClusterRoleBinding", "ClusterRole", EXPORTER),
        ("RoleBinding", "Role", "kg-exporter-leader-election"),
    ):
        binding = one(objects, kind)
        assert binding["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": role_kind,
            "name": role,
        }
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": EXPORTER, "namespace": namespace}
        ]
    deployment = one(objects, "Deployment", EXPORTER)
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == EXPORTER


def test_no_rule_anywhere_touches_secrets_configmaps_or_writes_workloads(
    objects: list[Obj],
) -> None:
    for role in find(objects, "ClusterRole") + find(objects, "Role"):
        for rule in role["rules"]:
            assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"]
            assert not {"secrets", "configmaps"} & set(rule["resources"])
            if rule["resources"] != ["leases"]:
                assert set(rule["verbs"]) <= {"get", "list", "watch"}


def test_every_pod_is_hardened(objects: list[Obj]) -> None:
    specs = pod_specs(objects)
    assert specs
    for name, spec in specs:
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True and pod["runAsUser"] > 0, name
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for container in spec["containers"]:
            ctx = container["securityContext"]
            assert ctx["readOnlyRootFilesystem"] is True, name
            assert ctx["allowPrivilegeEscalation"] is False, name
            assert ctx["capabilities"] == {"drop": ["ALL"]}, name
            assert ctx.get("privileged", False) is False, name
            resources = container["resources"]
            assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
            image = container["image"]
            assert ":" in image and not image.endswith(":latest"), f"{name}: unpinned {image}"


def test_the_exporter_runs_two_replicas_with_probes_and_a_disruption_budget(
    objects: list[Obj],
) -> None:
    deployment = one(objects, "Deployment", EXPORTER)
    spec = deployment["spec"]
    assert spec["replicas"] == 2
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    labels = spec["template"]["metadata"]["labels"]
    (container,) = spec["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    budget = one(objects, "PodDisruptionBudget", EXPORTER)
    assert _selects(budget["spec"]["selector"]["matchLabels"], labels)
    assert budget["spec"]["maxUnavailable"] == 1


def test_config_map_holds_valid_settings_that_fit_the_pod(
    objects: list[Obj], tmp_path: Path
) -> None:
    config = exporter_config(objects)
    # template_dir must exist to load; in the pod it is the (possibly empty) ConfigMap mount.
    settings = Settings(**{**config, "template_dir": str(tmp_path)})
    deployment = one(objects, "Deployment", EXPORTER)
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}

    config_map = volumes["config"]["configMap"]["name"]
    assert config_map.startswith("kg-exporter-config-")  # hashed: a config change rolls the pods
    assert container["args"] == ["run", "--config", mounts["config"] + "/config.yaml"]
    assert config["template_dir"] == mounts["templates"]
    assert volumes["templates"]["configMap"] == {"name": "kg-exporter-templates", "optional": True}
    assert settings.sink.token_file is not None
    assert volumes["sink-token"]["secret"]["secretName"] == "kg-exporter-sink-token"
    assert str(settings.sink.token_file) == mounts["sink-token"] + "/token"

    port = int(settings.daemon.listen.rpartition(":")[2])
    assert container["ports"] == [{"name": "metrics", "containerPort": port, "protocol": "TCP"}]
    assert settings.leader.enabled
    assert settings.daemon.drain_deadline_seconds + 5 < pod["terminationGracePeriodSeconds"]
    env = {e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"] for e in container["env"]}
    assert env == {
        "KG_EXPORTER_LEADER__IDENTITY": "metadata.name",
        "KG_EXPORTER_LEADER__NAMESPACE": "metadata.namespace",
    }


def test_service_and_service_monitor_reach_the_metrics_port(objects: list[Obj]) -> None:
    deployment = one(objects, "Deployment", EXPORTER)
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    service = one(objects, "Service", EXPORTER)
    assert _selects(service["spec"]["selector"], pod_labels)
    assert [p["targetPort"] for p in service["spec"]["ports"]] == ["metrics"]
    monitor = one(objects, "ServiceMonitor", EXPORTER)
    assert _selects(monitor["spec"]["selector"]["matchLabels"], service["metadata"]["labels"])
    assert [e["port"] for e in monitor["spec"]["endpoints"]] == ["metrics"]
    # KgExporterDown selects job="kg-exporter": the operator names the job after the Service.
    assert service["metadata"]["name"] == "kg-exporter"


def test_dashboard_config_map_is_labelled_for_the_grafana_sidecar(objects: list[Obj]) -> None:
    config_map = one(objects, "ConfigMap", "kg-exporter-dashboard")
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(config_map["data"]["kg-exporter.json"])["uid"] == "kg-exporter"


def test_the_overlay_runs_the_metadata_service_on_a_claim_where_the_exporter_writes() -> None:
    objects = render(KUSTOMIZATIONS["with-metadata-service"])
    service = one(objects, "Service", "metadata-service")
    stateful = one(objects, "StatefulSet", "metadata-service")
    spec = stateful["spec"]
    assert spec["replicas"] == 1 and spec["serviceName"] == "metadata-service"
    (claim,) = spec["volumeClaimTemplates"]
    (container,) = spec["template"]["spec"]["containers"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert container["command"][container["command"].index("--store") + 1].startswith(
        mounts[claim["metadata"]["name"]] + "/"
    )
    port = service["spec"]["ports"][0]
    assert _selects(service["spec"]["selector"], spec["template"]["metadata"]["labels"])
    settings = Settings(**{**exporter_config(objects), "template_dir": None})
    assert str(settings.sink.url).rstrip("/") == f"http://metadata-service:{port['port']}"
    # Both ends read the token from the same Secret.
    volumes = {v["name"]: v for v in spec["template"]["spec"]["volumes"]}
    assert volumes["sink-token"]["secret"]["secretName"] == "kg-exporter-sink-token"
    token_file = container["command"][container["command"].index("--token-file") + 1]
    assert token_file == mounts["sink-token"] + "/token"
    assert spec["template"]["spec"]["automountServiceAccountToken"] is False


def exporter_config(objects: list[Obj]) -> dict[str, Any]:
    (config_map,) = [
        o
        for o in find(objects, "ConfigMap")
        if o["metadata"]["name"].startswith("kg-exporter-config-")
    ]
    loaded: dict[str, Any] = yaml.safe_load(config_map["data"]["config.yaml"])
    return loaded


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())
