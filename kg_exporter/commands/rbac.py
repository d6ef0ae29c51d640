"""`kg-exporter rbac`: the ClusterRole the daemon needs for the configured kinds, as YAML.

``kubectl apply -f -`` takes it as is; ``deploy/base/rbac.yaml`` holds what it prints for the
bundled kinds (a test keeps them equal).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TextIO

import yaml

from kg_exporter.watch.entry import KindEntry
from kg_exporter.watch.rbac import read_rules


def cluster_role(kinds: Iterable[KindEntry], *, name: str = "kg-exporter") -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/name": "kg-exporter"}},
        "rules": read_rules(kinds),
    }


def rbac_command(kinds: Iterable[KindEntry], out: TextIO, *, name: str = "kg-exporter") -> int:
    out.write(
        "# get/list/watch on every configured kind and on nodes; printed by `kg-exporter rbac`\n"
    )
    out.write(
        yaml.safe_dump(cluster_role(kinds, name=name), sort_keys=False, default_flow_style=None)
    )
    return 0
