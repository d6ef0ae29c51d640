"""The resource types the fake API server serves, declared as data.

Adding a kind is one entry in ``RESOURCES``; routing, discovery and the test controls all read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Raw Kubernetes JSON. Typed loosely on purpose: the fake stores whatever a client sends.
Obj = dict[str, Any]


@dataclass(frozen=True)
class Resource:
    group: str  # "" for the core group
    version: str
    plural: str
    kind: str
    namespaced: bool
    has_status: bool  # serves a /status subresource; the main endpoint then ignores status
    has_scale: bool = False  # serves an autoscaling/v1 /scale subresource
    # The real apiserver clears status on create for most kinds (Nodes keep it).
    resets_status_on_create: bool = True
    short_names: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def model(self) -> str:
        """The kubernetes_asyncio model class name, e.g. ``V1Deployment``."""
        return f"{self.version.capitalize()}{self.kind}"

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def qualified(self) -> str:
        """``deployments.apps`` — how the apiserver names a resource in error messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def base_path(self) -> str:
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"


RESOURCES: tuple[Resource, ...] = (
    Resource("apps", "v1", "deployments", "Deployment", True, True, True, short_names=("deploy",)),
    Resource("apps", "v1", "statefulsets", "StatefulSet", True, True, True, short_names=("sts",)),
    Resource("batch", "v1", "jobs", "Job", True, True),
    Resource("apps", "v1", "replicasets", "ReplicaSet", True, True, True, short_names=("rs",)),
    Resource("apps", "v1", "daemonsets", "DaemonSet", True, True, short_names=("ds",)),
    Resource("", "v1", "pods", "Pod", True, True, short_names=("po",)),
    Resource("", "v1", "nodes", "Node", False, True, resets_status_on_create=False),
    Resource("coordination.k8s.io", "v1", "leases", "Lease", True, False),
)


def find_resource(name: str) -> Resource:
    """Look a resource up by kind, plural, singular or short name, case-insensitively.

    Test controls take whatever a person would type (``"Deployment"``, ``"deployments"``,
    ``"deploy"``); one lookup keeps every control consistent.
    """
    wanted = name.lower()
    for res in RESOURCES:
        if wanted in (res.kind.lower(), res.plural, res.singular, *res.short_names):
            return res
    raise LookupError(f"the fake API server does not serve {name!r}")


def resource_at(group: str, version: str, plural: str) -> Resource | None:
    for res in RESOURCES:
        if (res.group, res.version, res.plural) == (group, version, plural):
            return res
    return None


def group_versions() -> dict[str, list[str]]:
    """Every served group (``""`` = core) with its versions, in declaration order."""
    out: dict[str, list[str]] = {}
    for res in RESOURCES:
        versions = out.setdefault(res.group, [])
        if res.version not in versions:
            versions.append(res.version)
    return out
