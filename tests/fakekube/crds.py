"""CustomResourceDefinitions: what a stored CRD makes the server serve, and the status the
apiextensions controllers give it.

A CRD serves one resource per version with ``served: true`` at ``/apis/<group>/<version>/<plural>``
(with ``/status`` when that version declares the subresource); every version shows the same objects
(no conversion webhook: ``apiVersion`` is simply the one asked for). The apiserver refuses a CRD
whose name is not ``<plural>.<group>``, whose names clash, or without exactly one storage version.
"""

from __future__ import annotations

from typing import Any

from . import errors
from .resources import CRD, Obj, Registry, Resource


def resources_of(crd: Obj) -> tuple[Resource, ...]:
    """The resources a (valid) CRD serves, in its versions' order."""
    spec = crd["spec"]
    names = spec["names"]
    return tuple(
        Resource(
            spec["group"],
            version["name"],
            names["plural"],
            names["kind"],
            spec["scope"] == "Namespaced",
            "status" in (version.get("subresources") or {}),
            short_names=tuple(names.get("shortNames") or ()),
            custom=True,
            singular_name=names.get("singular") or names["kind"].lower(),
            list_kind_name=names.get("listKind") or f"{names['kind']}List",
            categories=tuple(names.get("categories") or ()),
        )
        for version in spec["versions"]
        if version.get("served")
    )


def check(crd: Obj, registry: Registry) -> None:
    """Refuse (422 Invalid) what the apiserver's CRD validation refuses and a test may get wrong."""
    name = (crd.get("metadata") or {}).get("name", "")
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group, plural = spec.get("group", ""), names.get("plural", "")

    def invalid(message: str) -> errors.KubeError:
        return errors.invalid(CRD, name, message)

    if name != f"{plural}.{group}":
        raise invalid(
            f'metadata.name: Invalid value: "{name}": must be spec.names.plural+"."+spec.group'
        )
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        raise invalid(f'spec.scope: Unsupported value: "{spec.get("scope")}"')
    versions = spec.get("versions") or []
    if sum(1 for v in versions if v.get("storage")) != 1:
        raise invalid(
            "spec.versions: Invalid value: must have exactly one version marked as storage"
        )
    for res in registry:
        if res.group == group and res.plural == plural:
            continue  # this CRD itself, being updated
        if res.group == group and res.kind == names.get("kind"):
            raise invalid(f'status.acceptedNames.kind: "{res.kind}" is already in use')


def established(crd: Obj, now: str) -> Obj:
    """The status the naming and establishing controllers write once the names are accepted."""
    names = crd["spec"]["names"]
    accepted = {
        "plural": names["plural"],
        "singular": names.get("singular") or names["kind"].lower(),
        "kind": names["kind"],
        "listKind": names.get("listKind") or f"{names['kind']}List",
    }
    for key in ("shortNames", "categories"):
        if names.get(key):
            accepted[key] = list(names[key])
    stored = [v["name"] for v in crd["spec"]["versions"] if v.get("storage")]
    return {
        "acceptedNames": accepted,
        "conditions": [
            {
                "type": "NamesAccepted",
                "status": "True",
                "lastTransitionTime": now,
                "reason": "NoConflicts",
                "message": "no conflicts found",
            },
            {
                "type": "Established",
                "status": "True",
                "lastTransitionTime": now,
                "reason": "InitialNamesAccepted",
                "message": "the initial names have been accepted",
            },
        ],
        "storedVersions": stored,
    }


def is_established(crd: Obj) -> bool:
    conditions = (crd.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)


def definition(
    group: str,
    kind: str,
    *,
    plural: str | None = None,
    versions: tuple[str, ...] = ("v1",),
    namespaced: bool = True,
    status: bool = True,
    short_names: tuple[str, ...] = (),
) -> Obj:
    """A CRD as a test (or an operator's install manifest) would write it: ``versions`` all
    served, the first one stored, each with the ``status`` subresource when asked and a schema
    that keeps every field (``x-kubernetes-preserve-unknown-fields``)."""
    plural = plural or f"{kind.lower()}s"
    names: Obj = {
        "kind": kind,
        "plural": plural,
        "singular": kind.lower(),
        "listKind": f"{kind}List",
    }
    if short_names:
        names["shortNames"] = list(short_names)
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "names": names,
            "scope": "Namespaced" if namespaced else "Cluster",
            "versions": [
                {
                    "name": version,
                    "served": True,
                    "storage": i == 0,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": True,
                        }
                    },
                    **({"subresources": {"status": {}}} if status else {}),
                }
                for i, version in enumerate(versions)
            ],
        },
    }


#: The CRDs of the operators whose kinds kg-exporter bundles, as their install manifests define
#: them (group, kind, plural, served versions newest first, scope; docs: the brief's
#: workload-kinds.md). Create one with ``fake.create(definition(**OPERATOR_CRDS["JobSet"]))``.
OPERATOR_CRDS: dict[str, dict[str, Any]] = {
    "JobSet": {"group": "jobset.x-k8s.io", "kind": "JobSet", "versions": ("v1alpha2",)},
    "MetricSet": {"group": "flux-framework.org", "kind": "MetricSet", "versions": ("v1alpha2",)},
    "MiniCluster": {
        "group": "flux-framework.org",
        "kind": "MiniCluster",
        "versions": ("v1alpha2",),
    },
    "Ensemble": {
        "group": "ensemble.flux-framework.org",
        "kind": "Ensemble",
        "versions": ("v1alpha1",),
    },
}
