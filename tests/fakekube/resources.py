"""The resource types the fake API server serves: built-ins declared as data, plus whatever the
CustomResourceDefinitions stored at the moment define (see :mod:`.crds`).

Adding a built-in kind is one entry in ``BUILTIN``; routing, discovery and the test controls all
read the :class:`Registry`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
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
    #: Defined by a CustomResourceDefinition: stored as sent (no typed model to check against).
    custom: bool = False
    singular_name: str = ""
    list_kind_name: str = ""
    categories: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def model(self) -> str:
        """The kubernetes_asyncio model class name, e.g. ``V1Deployment``."""
        return f"{self.version.capitalize()}{self.kind}"

    @property
    def list_kind(self) -> str:
        return self.list_kind_name or f"{self.kind}List"

    @property
    def singular(self) -> str:
        return self.singular_name or self.kind.lower()

    @property
    def qualified(self) -> str:
        """``deployments.apps`` — how the apiserver names a resource in error messages; also
        what objects are stored under, so every served version of a CRD sees the same objects."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def base_path(self) -> str:
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    def names(self) -> tuple[str, ...]:
        """What a person may call it: kind, plural, singular, short names (lower case)."""
        return (self.kind.lower(), self.plural, self.singular, *self.short_names)


CRD = Resource(
    "apiextensions.k8s.io",
    "v1",
    "customresourcedefinitions",
    "CustomResourceDefinition",
    False,
    True,
    short_names=("crd", "crds"),
)

BUILTIN: tuple[Resource, ...] = (
    Resource("apps", "v1", "deployments", "Deployment", True, True, True, short_names=("deploy",)),
    Resource("apps", "v1", "statefulsets", "StatefulSet", True, True, True, short_names=("sts",)),
    Resource("apps", "v1", "daemonsets", "DaemonSet", True, True, short_names=("ds",)),
    Resource("batch", "v1", "jobs", "Job", True, True),
    Resource("batch", "v1", "cronjobs", "CronJob", True, True, short_names=("cj",)),
    Resource("apps", "v1", "replicasets", "ReplicaSet", True, True, True, short_names=("rs",)),
    Resource("", "v1", "pods", "Pod", True, True, short_names=("po",)),
    Resource("", "v1", "nodes", "Node", False, True, resets_status_on_create=False),
    Resource("coordination.k8s.io", "v1", "leases", "Lease", True, False),
    CRD,
)


class Registry:
    """Built-in resources, and those of the established CustomResourceDefinitions by CRD name."""

    def __init__(self) -> None:
        self._custom: dict[str, tuple[Resource, ...]] = {}

    def __iter__(self) -> Iterator[Resource]:
        yield from BUILTIN
        for resources in self._custom.values():
            yield from resources

    def define(self, crd_name: str, resources: tuple[Resource, ...]) -> tuple[Resource, ...]:
        """Serve ``resources`` for this CRD from now on; the ones it served before and no longer
        does (a version no longer served, or all of them: ``()``) are returned."""
        before = self._custom.pop(crd_name, ())
        if resources:
            self._custom[crd_name] = resources
        return tuple(r for r in before if r not in resources)

    def defined_by(self, crd_name: str) -> tuple[Resource, ...]:
        return self._custom.get(crd_name, ())

    def find(self, name: str, api_version: str | None = None) -> Resource:
        """Look a resource up by kind, plural, singular or short name, case-insensitively (in
        ``api_version`` when given, e.g. an object's ``apiVersion``).

        Test controls take whatever a person would type (``"Deployment"``, ``"deployments"``,
        ``"deploy"``, ``"jobset"``); one lookup keeps every control consistent.
        """
        wanted = name.lower()
        for res in self:
            if wanted in res.names() and api_version in (None, res.api_version):
                return res
        where = f" in {api_version}" if api_version else ""
        raise LookupError(f"the fake API server does not serve {name!r}{where}")

    def at(self, group: str, version: str, plural: str) -> Resource | None:
        for res in self:
            if (res.group, res.version, res.plural) == (group, version, plural):
                return res
        return None

    def group_versions(self) -> dict[str, list[str]]:
        """Every served group (``""`` = core) with its versions: built-in groups in declaration
        order, then the CRDs' groups with their versions in the apiserver's priority order
        (GA before beta before alpha, higher first), the first being the preferred one."""
        out: dict[str, list[str]] = {}
        for res in BUILTIN:
            versions = out.setdefault(res.group, [])
            if res.version not in versions:
                versions.append(res.version)
        custom: dict[str, set[str]] = {}
        for resources in self._custom.values():
            for res in resources:
                custom.setdefault(res.group, set()).add(res.version)
        for group in sorted(custom):
            known = out.setdefault(group, [])
            known.extend(sorted(custom[group] - set(known), key=version_priority))
        return out


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Sort key of Kubernetes' version ordering (``CompareKubeAwareVersionStrings``): v2 > v1 >
    v1beta2 > v1beta1 > v1alpha1 > anything not shaped like a Kubernetes version (by name)."""
    match = re.fullmatch(r"v([0-9]+)(?:(alpha|beta)([0-9]+))?", version)
    if match is None:
        return (3, 0, 0, version)
    major, stage, minor = match.groups()
    rank = {None: 0, "beta": 1, "alpha": 2}[stage]
    return (rank, -int(major), -int(minor or 0), version)
