"""What a workload's spec says about the children its controller will create: an Ensemble's
members (``children[].declared``) and a MetricSet's volume addons. The documents are right before
the children exist and do not change when they appear, unless a child really differs."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from kg_exporter.errors import SettingsError
from kg_exporter.identity import ObjectKey
from kg_exporter.manifests import Manifest, read_manifests
from kg_exporter.render.facts import Lifecycle
from kg_exporter.render.renderer import Renderer
from kg_exporter.settings import load_settings
from kg_exporter.state.lifecycle import Phase
from kg_exporter.state.projection import decode
from kg_exporter.state.workloads import WorkloadTable
from tests.conftest import EXAMPLES
from tests.kinds.test_settings import RAYJOB, settings_file

RUNNING = Lifecycle(Phase.RUNNING, started_at="2026-11-21T11:00:09Z")
Obj = dict[str, Any]


def example(name: str) -> list[Obj]:
    path = EXAMPLES / "kinds" / f"{name}.yaml"
    return [m.obj for m in read_manifests([path]) if isinstance(m, Manifest)]


def documents(renderer: Renderer, table: WorkloadTable, key: ObjectKey) -> list[Any]:
    """The workload and telemetry documents the daemon would write for ``key`` now."""
    record = table.get(key)
    assert record is not None
    inherited = [decode(p) for p in table.inherited(key)]
    pair = renderer.workload_from(decode(record.projection), RUNNING, inherited=inherited)
    return [s.document for s in pair]


def workload_node(docs: list[Any]) -> Obj:
    node: Obj = docs[0]["@graph"][0]
    return node


def test_an_ensembles_members_are_its_containers_before_the_miniclusters_exist(
    renderer: Renderer,
) -> None:
    ensemble, grpc, mc0, job0, mc1, job1 = example("ensemble")
    key = ObjectKey("Ensemble", "hpc", "sweep")
    table = WorkloadTable(lambda: "2026-11-21T12:00:00Z")
    table.apply(ensemble)
    alone = documents(renderer, table, key)
    containers = [
        c["@id"].rsplit("/container/", 1)[1] for c in workload_node(alone)["kgx:hasContainer"]
    ]
    # Each member is the MiniCluster <ensemble>-<i>, whose single container takes its name.
    assert containers == ["sweep-0/sweep-0", "sweep-1/sweep-1"]
    telemetry = str(alone[1])  # the members' pod names, as the MiniClusters' entry writes them
    member = "(?:-(?:0|[1-9][0-9]*)-[bcdfghjklmnpqrstvwxz2456789]{5}|-services)"
    assert "-0" + member in telemetry
    assert "-1" + member in telemetry
    # The operator creates the members (and their Jobs): the documents do not change.
    for child in (mc0, job0, mc1, job1):
        table.apply(child)
        assert documents(renderer, table, key) == alone, child["metadata"]["name"]
    # The gRPC Deployment is not declared: it adds its container and pods when it appears.
    table.apply(grpc)
    with_grpc = documents(renderer, table, key)
    assert [c["@id"].rsplit("/", 1)[1] for c in workload_node(with_grpc)["kgx:hasContainer"]] == [
        "sweep-0", "sweep-1", "api",
    ]  # fmt: skip
    # A member that really differs from its declaration says so.
    changed = copy.deepcopy(mc1)
    changed["spec"]["containers"][0]["image"] = "ghcr.io/converged-computing/lammps-time:next"
    table.apply(changed)
    assert "lammps-time:next" in str(documents(renderer, table, key)[0])
    # Deleted, the member's declaration speaks again.
    table.delete(ObjectKey("MiniCluster", "hpc", "sweep-1"))
    assert documents(renderer, table, key) == with_grpc


def test_a_metricsets_volume_addon_is_a_claim_before_its_jobset_exists(
    renderer: Renderer,
) -> None:
    metricset, jobset, *_ = example("metricset")
    key = ObjectKey("MetricSet", "hpc", "lammps")
    table = WorkloadTable(lambda: "2026-11-21T12:00:00Z")
    table.apply(metricset)
    alone = workload_node(documents(renderer, table, key))
    claim = "https://kg-exporter.example.org/cluster1/persistentvolumeclaim/hpc/lammps-data"
    assert {"@id": claim} in alone["kgx:dependsOnData"]
    assert "lammps-certs" not in str(alone)  # a volume-secret addon is no data, nor its name
    table.apply(jobset)
    with_jobset = workload_node(documents(renderer, table, key))
    assert with_jobset["kgx:dependsOnData"] == alone["kgx:dependsOnData"]


def test_addons_that_are_not_claims_or_are_malformed_give_no_data(renderer: Renderer) -> None:
    metricset = example("metricset")[0]
    metricset["spec"]["metrics"][0]["addons"] = [
        {"name": "volume-cm", "options": {"name": "c", "configMapName": "conf", "path": "/c"}},
        {"name": "volume-hostpath", "options": {"hostPath": "/mnt/x", "path": "/x"}},
        {"name": "volume-pvc", "options": {"name": "d"}},  # no claimName: the operator refuses it
        {"options": {"claimName": "nameless"}},
        "volume-pvc",
    ]
    table = WorkloadTable(lambda: "2026-11-21T12:00:00Z")
    table.apply(metricset)
    record = table.get(ObjectKey("MetricSet", "hpc", "lammps"))
    assert record is not None and decode(record.projection)["claims"] == []


@pytest.mark.parametrize(
    ("child", "expected"),
    [
        ({"kind": "Job", "declared": "object.spec.jobs"}, r"children\[0\].declared: needs pods: true"),
        ({"kind": "Job", "pods": True, "declared": "object.spec.("}, r"children\[0\].declared: .*[Ss]yntax"),
        ({"kind": "Job", "pods": True, "declared": "[]", "name": "{name}"}, r"children\[0\].name: must hold \{index\}"),
        ({"kind": "Job", "pods": True, "declared": "[]", "name": "{nam}-{index}"}, r"children\[0\].name: only \{name\} and \{index\}"),
    ],
)  # fmt: skip
def test_a_bad_declaration_is_one_settings_error(
    tmp_path: Path, child: dict[str, Any], expected: str
) -> None:
    with pytest.raises(SettingsError, match=r"kinds\[0\] \(RayJob\): " + expected):
        load_settings(settings_file(tmp_path, [{**RAYJOB, "children": [child]}]))
