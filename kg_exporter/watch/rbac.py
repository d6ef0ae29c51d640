"""The RBAC rules the watches need: get, list and watch on every configured kind, and on nodes.

One rule per API group, in the order the kinds come (the group's resources in that order too), the
nodes rule last: the shape of ``deploy/base/rbac.yaml``, which ``kg-exporter rbac`` reproduces.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kg_exporter.watch.entry import KindEntry
from kg_exporter.watch.targets import NODE_TARGET

#: What list+watch needs; get lets ``kubectl auth can-i`` and operators check one object.
READ_VERBS = ("get", "list", "watch")


def read_rules(kinds: Iterable[KindEntry]) -> list[dict[str, Any]]:
    """ClusterRole rules granting :data:`READ_VERBS` on ``kinds`` and on nodes."""
    by_group: dict[str, list[str]] = {}
    for entry in kinds:
        resources = by_group.setdefault(entry.group, [])
        if entry.plural not in resources:
            resources.append(entry.plural)
    nodes = by_group.setdefault(NODE_TARGET.group, [])
    if NODE_TARGET.plural not in nodes:
        nodes.append(NODE_TARGET.plural)
    core = by_group.pop(NODE_TARGET.group)
    by_group[NODE_TARGET.group] = core  # the core group (nodes) last
    return [
        {"apiGroups": [group], "resources": resources, "verbs": list(READ_VERBS)}
        for group, resources in by_group.items()
    ]


def rule_text(group: str, plural: str) -> str:
    """One rule as a log line shows it: ``apiGroups: ["apps"], resources: […], verbs: […]``."""
    quoted = ", ".join(f'"{v}"' for v in READ_VERBS)
    return f'apiGroups: ["{group}"], resources: ["{plural}"], verbs: [{quoted}]'
