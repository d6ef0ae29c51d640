"""Discovery documents: /version, /api, /apis and the per-group-version resource lists."""

from __future__ import annotations

from .resources import Obj, Registry

VERSION: Obj = {
    "major": "1",
    "minor": "31",
    "gitVersion": "v1.31.0-fakekube",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2024-08-13T07:28:49Z",
    "goVersion": "go1.22.5",
    "compiler": "gc",
    "platform": "linux/amd64",
}

_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


def core_versions() -> Obj:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": ""}],
    }


def _group(name: str, versions: list[str]) -> Obj:
    gvs = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": name,
        "versions": gvs,
        "preferredVersion": gvs[0],
    }


def group_list(registry: Registry) -> Obj:
    groups = [_group(name, vs) for name, vs in registry.group_versions().items() if name]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def group(registry: Registry, name: str) -> Obj | None:
    versions = registry.group_versions().get(name)
    return _group(name, versions) if name and versions else None


def resource_list(registry: Registry, group_name: str, version: str) -> Obj | None:
    served = [r for r in registry if (r.group, r.version) == (group_name, version)]
    if not served:
        return None
    resources: list[Obj] = []
    for res in served:
        entry: Obj = {
            "name": res.plural,
            "singularName": res.singular,
            "namespaced": res.namespaced,
            "kind": res.kind,
            "verbs": _VERBS,
        }
        if res.short_names:
            entry["shortNames"] = list(res.short_names)
        if res.categories:
            entry["categories"] = list(res.categories)
        resources.append(entry)
        if res.has_status:
            resources.append(
                {
                    "name": f"{res.plural}/status",
                    "singularName": "",
                    "namespaced": res.namespaced,
                    "kind": res.kind,
                    "verbs": ["get", "patch", "update"],
                }
            )
        if res.has_scale:
            resources.append(
                {
                    "name": f"{res.plural}/scale",
                    "singularName": "",
                    "namespaced": res.namespaced,
                    "group": "autoscaling",
                    "version": "v1",
                    "kind": "Scale",
                    "verbs": ["get", "patch", "update"],
                }
            )
    gv = f"{group_name}/{version}" if group_name else version
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": gv,
        "resources": resources,
    }
