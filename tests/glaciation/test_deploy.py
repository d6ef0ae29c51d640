"""deploy/overlays/glaciation: the profile switched on, with read access to exactly what it
watches besides the design's kinds, and settings that load."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kg_exporter.glaciation.profile import profile_targets
from kg_exporter.settings import load_settings
from kg_exporter.watch import targets_for
from tests.deploy.manifests import DEPLOY, find, one, render

OVERLAY = DEPLOY / "overlays" / "glaciation"


def test_the_overlay_grants_what_the_profile_watches_and_turns_it_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    objects = render(OVERLAY)
    role = one(objects, "ClusterRole", "kg-exporter-glaciation")
    binding = one(objects, "ClusterRoleBinding", "kg-exporter-glaciation")
    assert binding["roleRef"]["name"] == "kg-exporter-glaciation"
    assert binding["subjects"] == one(objects, "ClusterRoleBinding", "kg-exporter")["subjects"]
    granted = {
        name: {
            (g, res) for rule in r["rules"] for g in rule["apiGroups"] for res in rule["resources"]
        }
        for r in find(objects, "ClusterRole")
        for name in [r["metadata"]["name"]]
    }
    assert all(set(rule["verbs"]) == {"get", "list", "watch"} for rule in role["rules"])

    (config_map,) = [
        o
        for o in find(objects, "ConfigMap")
        if o["metadata"]["name"].startswith("kg-exporter-config-")
    ]
    config = yaml.safe_load(config_map["data"]["config.yaml"])
    config["template_dir"] = str(tmp_path)  # in the pod: the (optional) templates mount
    (container,) = one(objects, "Deployment", "kg-exporter")["spec"]["template"]["spec"][
        "containers"
    ]
    for env in container["env"]:
        if "value" in env:
            monkeypatch.setenv(env["name"], env["value"])
    config_file = tmp_path / "config.yaml"
    config_file.write_text(yaml.safe_dump(config))
    settings = load_settings(config_file)
    assert settings.glaciation.enabled and settings.glaciation.cluster_name
    needed = {(t.group, t.plural) for t in [*targets_for(settings), *profile_targets(settings)]}
    # The profile's role adds exactly what it needs beyond the design's role.
    assert granted["kg-exporter-glaciation"] == needed - granted["kg-exporter"]
