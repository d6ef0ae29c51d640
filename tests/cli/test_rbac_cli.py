"""`kg-exporter rbac`: the ClusterRole rules the configured kinds need, as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from kg_exporter.kinds import bundled_registry
from kg_exporter.watch.rbac import read_rules
from tests.conftest import ROOT
from tests.daemon.objects import WIDGET

READ = ["get", "list", "watch"]


def kg(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kg_exporter.cli", *args],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip


def test_prints_an_applicable_cluster_role_for_the_configured_kinds() -> None:
    result = kg("rbac", "--name", "exporter-reader")
    assert result.returncode == 0, result.stderr
    role = yaml.safe_load(result.stdout)
    assert (role["apiVersion"], role["kind"]) == ("rbac.authorization.k8s.io/v1", "ClusterRole")
    assert role["metadata"]["name"] == "exporter-reader"
    granted = {
        (group, resource)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        if rule["verbs"] == READ
    }
    wanted = {(k.group, k.plural) for k in bundled_registry().specs()} | {("", "nodes")}
    assert granted == wanted


def test_a_wrong_settings_file_is_a_usage_error(tmp_path: Path) -> None:
    config = tmp_path / "settings.yaml"
    config.write_text("no_such_setting: 1\n")
    result = kg("rbac", "--config", str(config))
    assert result.returncode == 2
    assert "no_such_setting" in result.stderr


def test_one_rule_per_group_in_the_kinds_order_with_the_core_group_last() -> None:
    kinds = [WIDGET, *bundled_registry().specs(), WIDGET]
    rules = read_rules(kinds)
    assert [(r["apiGroups"], r["resources"]) for r in rules] == [
        (["example.com"], ["widgets"]),
        (["apps"], ["deployments", "statefulsets", "daemonsets"]),
        (["batch"], ["jobs", "cronjobs"]),
        (["jobset.x-k8s.io"], ["jobsets"]),
        (["flux-framework.org"], ["metricsets", "miniclusters"]),
        (["ensemble.flux-framework.org"], ["ensembles"]),
        ([""], ["nodes"]),
    ]
    assert all(r["verbs"] == READ for r in rules)
