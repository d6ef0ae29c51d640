"""Kind entries from settings: added and overridden, and every mistake one settings error that
names the entry and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kg_exporter.errors import SettingsError
from kg_exporter.kinds import registry_for
from kg_exporter.settings import load_settings

RAYJOB = {
    "kind": "RayJob",
    "group": "ray.io",
    "versions": ["v1"],
    "plural": "rayjobs",
    "lifecycle": {"running": 'has(object.status) && object.status.jobStatus == "RUNNING"'},
}


def settings_file(tmp_path: Path, kinds: object) -> Path:
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump({"kinds": kinds}))
    return path


def test_a_user_kind_is_added_and_a_bundled_one_replaced(tmp_path: Path) -> None:
    job = {**RAYJOB, "kind": "Job", "group": "batch", "plural": "jobs", "class": "kgx:MyJob"}
    kinds = registry_for(load_settings(settings_file(tmp_path, [RAYJOB, job])))
    assert "RayJob" in kinds and kinds["RayJob"].versions == ("v1",)
    assert kinds["Job"].class_iri == "kgx:MyJob"
    assert kinds["Deployment"].plural == "deployments"  # the rest stay bundled


def test_a_kinds_file_applies_before_the_setting(tmp_path: Path) -> None:
    kinds_file = tmp_path / "kinds.yaml"
    kinds_file.write_text(yaml.safe_dump({"kinds": [{**RAYJOB, "class": "kgx:FromFile"}]}))
    settings = load_settings(overrides={"kinds_config": kinds_file})
    assert registry_for(settings)["RayJob"].class_iri == "kgx:FromFile"
    both = load_settings(overrides={"kinds_config": kinds_file, "kinds": [RAYJOB]})
    assert registry_for(both)["RayJob"].class_iri == "k8s:Workload"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"lifecycle": {"running": "object.status.("}}, r"kinds\[0\] \(RayJob\): lifecycle.running: .*[Ss]yntax"),
        ({"lifecycle": {"running": "status.ready"}}, r"RayJob.*lifecycle.running: unknown variable 'status'"),
        ({"lifecycle": {"running": "lower(object.x) == 'a'"}}, r"RayJob.*lifecycle.running: unknown function 'lower'"),
        ({"lifecycle": {"runing": "true"}}, r"RayJob.*lifecycle.runing: unknown field"),
        ({"pods": {"name_suffix": "-(["}}, r"RayJob.*pods.name_suffix: not a regular expression"),
        ({"pods": {"name_suffix": "-(?!x)"}}, r"RayJob.*pods.name_suffix: RE2 has no lookaround"),
        ({"children": [{"kind": "Pod"}]}, r"RayJob.*children\[0\].kind: Pod is not a configured kind"),
        ({"children": [{"kind": "Job", "times": "sometimes"}]}, r"kinds\[0\] \(RayJob\): children.0.times: .*boolean"),
        ({"plural": "Ray Jobs"}, r"RayJob.*plural"),
        ({"pods": {"select_by": "labels"}}, r"kinds\[0\] \(RayJob\): pods.select_by: selecting pods by labels needs pods.labels"),
        ({"pods": {"select_by": "label"}}, r"kinds\[0\] \(RayJob\): pods.select_by: Input should be 'name' or 'labels'"),
        ({"pods": {"labels": "object.metadata.(", "select_by": "labels"}}, r"RayJob.*pods.labels: .*[Ss]yntax"),
        ({"pods": {"labels": "{'a': lower('b')}"}}, r"RayJob.*pods.labels: unknown function 'lower'"),
    ],
)  # fmt: skip
def test_a_mistake_is_one_settings_error_naming_entry_and_field(
    tmp_path: Path, change: dict[str, object], expected: str
) -> None:
    with pytest.raises(SettingsError, match=expected):
        load_settings(settings_file(tmp_path, [{**RAYJOB, **change}]))


def test_a_duplicate_kind_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"kinds\[1\] \(RayJob\): duplicate kind"):
        load_settings(settings_file(tmp_path, [RAYJOB, RAYJOB]))


def test_an_unreadable_kinds_file_is_a_settings_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot read kinds file"):
        load_settings(overrides={"kinds_config": tmp_path / "missing.yaml"})


def test_a_bundled_kind_opts_into_label_selection_from_the_settings_file(tmp_path: Path) -> None:
    """As docs/kinds.md says: its bundled entry, copied into `kinds:` with `select_by: labels`."""
    from kg_exporter.kinds.registry import bundled_entries
    from kg_exporter.render.renderer import Renderer
    from tests.render import fixtures as f

    (entry,) = [e for e in bundled_entries() if e.kind == "Deployment"]
    copied = entry.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    copied["pods"]["select_by"] = "labels"
    settings = load_settings(settings_file(tmp_path, [copied]))
    obj = f.deployment(availableReplicas=1)
    obj["spec"]["selector"] = {"matchLabels": {"app.kubernetes.io/name": "web"}}
    _, telemetry = Renderer(settings).workload(obj)
    queries = [n["kgx:promql"] for n in telemetry.document["@graph"] if "kgx:promql" in n]
    assert queries and all(
        'kube_pod_labels{namespace="shop",label_app_kubernetes_io_name="web"}' in q and "pod=~" not in q
        for q in queries
    )


def test_an_entry_without_group_versions_and_plural_amends_a_configured_kind(
    tmp_path: Path,
) -> None:
    """Each section's fields it sets replace those fields; the rest of the entry stays."""
    bundled = registry_for(load_settings())["Deployment"]
    amended = registry_for(
        load_settings(
            settings_file(
                tmp_path,
                [{"kind": "Deployment", "pods": {"select_by": "labels"}, "class": "kgx:Web"}],
            )
        )
    )["Deployment"]
    assert amended.select_by_labels and amended.class_iri == "kgx:Web"
    assert (amended.group, amended.versions, amended.plural) == ("apps", ("v1",), "deployments")
    assert amended.pod_suffix == bundled.pod_suffix  # the rest of `pods` is the bundled one
    assert amended.rules["pods.labels"].source == "object.spec.selector.matchLabels"
    assert amended.rules["lifecycle.running"].source == bundled.rules["lifecycle.running"].source


def test_a_kinds_file_entry_is_amended_by_the_setting(tmp_path: Path) -> None:
    kinds_file = tmp_path / "kinds.yaml"
    kinds_file.write_text(yaml.safe_dump({"kinds": [RAYJOB]}))
    amend = {"kind": "RayJob", "lifecycle": {"stopped": "false"}}
    kinds = registry_for(load_settings(overrides={"kinds_config": kinds_file, "kinds": [amend]}))
    assert set(kinds["RayJob"].rules) >= {"lifecycle.running", "lifecycle.stopped"}


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"kind": "RayJob", "pods": {"select_by": "labels"}}, r"kinds\[0\] \(RayJob\): group: required: RayJob is not a configured kind to amend"),
        ({"kind": "Deployment", "group": "apps", "pods": {}}, r"kinds\[0\] \(Deployment\): versions: required with group \(give none of group, versions, plural to amend"),
        ({"kind": "Deployment", "pods": {"select_by": "labels", "labels": None}}, r"kinds\[0\] \(Deployment\): pods.select_by: selecting pods by labels needs pods.labels"),
    ],
)  # fmt: skip
def test_a_wrong_amendment_is_one_settings_error(
    tmp_path: Path, entry: dict[str, object], expected: str
) -> None:
    with pytest.raises(SettingsError, match=expected):
        load_settings(settings_file(tmp_path, [entry]))
