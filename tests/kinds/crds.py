"""The CustomResourceDefinitions of the bundled kinds, as their operators install them, for the fake
API server (only what discovery and routing need: group, kind, plural, served versions)."""

from __future__ import annotations

from kg_exporter.kinds import bundled_registry
from tests.fakekube.control import FakeKube
from tests.fakekube.crds import definition

#: Bundled kinds the API server serves without a CRD.
BUILT_IN = frozenset({"Deployment", "StatefulSet", "Job", "DaemonSet", "CronJob"})


def install_bundled_crds(fake: FakeKube) -> None:
    for spec in bundled_registry().specs():
        if spec.kind not in BUILT_IN:
            fake.create(
                definition(spec.group, spec.kind, plural=spec.plural, versions=spec.versions)
            )
