"""Map a request (method, path, query) to the resource it addresses and the Kubernetes verb.

The verb (get/list/watch/create/update/patch/delete) is what tests count requests by, so it is
derived in exactly one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .resources import Registry, Resource

SUBRESOURCES = frozenset({"status", "scale"})
_TRUE = frozenset({"true", "1"})  # kubernetes_asyncio sends watch=True; Go clients send true


@dataclass(frozen=True)
class Target:
    resource: Resource
    namespace: str | None  # None: all namespaces (or a cluster-scoped resource)
    name: str | None  # None: the collection
    subresource: str | None


def parse_target(path: str, registry: Registry) -> Target | None:
    """``/apis/apps/v1/namespaces/ns/deployments/x/status`` → Target; None if not a resource."""
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v1"]:
        group, version, rest = "", "v1", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    namespace: str | None = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    if not 1 <= len(rest) <= 3:
        return None
    res = registry.at(group, version, rest[0])
    if res is None or (namespace is not None and not res.namespaced):
        return None
    name = rest[1] if len(rest) >= 2 else None
    sub = rest[2] if len(rest) == 3 else None
    if sub is not None and sub not in SUBRESOURCES:
        return None
    return Target(res, namespace, name, sub)


def is_watch(query: Mapping[str, str]) -> bool:
    return query.get("watch", "").lower() in _TRUE


def verb_of(method: str, target: Target | None, query: Mapping[str, str]) -> str:
    if method == "GET":
        if target is None or target.name is not None:
            return "get"
        return "watch" if is_watch(query) else "list"
    return {
        "POST": "create",
        "PUT": "update",
        "PATCH": "patch",
        "DELETE": "delete",
    }.get(method, method.lower())
