"""Which version of each configured kind the API server serves, read from API discovery.

``GET /apis`` (and ``/api`` for the core group) says which versions of each group are served; for
each entry, its versions are tried in its order (preferred first) and the first whose resource list
(``GET /apis/<group>/<version>``) holds the entry's plural wins. A custom resource whose CRD is not
installed is simply absent: its group (or the resource in it) is missing. Discovery needs no RBAC
grant: every authenticated client may read it (the ``system:discovery`` role).

One resolution costs one request for the group list plus one per group-version an entry could use
(each fetched once per resolution).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kubernetes_asyncio.client import ApiClient

from kg_exporter.errors import WatchError
from kg_exporter.watch.entry import KindEntry
from kg_exporter.watch.stream import get_json


@dataclass(frozen=True, slots=True)
class Served:
    """The version of a kind to watch, and whether the server says it is namespaced."""

    version: str
    namespaced: bool


class Discovery:
    """One resolution's view of the server; documents are fetched once, when first needed."""

    def __init__(self, api: ApiClient) -> None:
        self._api = api
        self._groups: dict[str, tuple[str, ...]] | None = None
        self._core: tuple[str, ...] | None = None
        self._resources: dict[tuple[str, str], dict[str, bool]] = {}

    async def resolve(self, entries: Iterable[KindEntry]) -> dict[str, Served | None]:
        """Each entry's kind → the version to watch, or None when the server serves none of its
        versions. Raises :class:`WatchError` (or the transport's errors) when discovery fails."""
        return {entry.kind: await self.served(entry) for entry in entries}

    async def served(self, entry: KindEntry) -> Served | None:
        available = await self._versions(entry.group)
        for version in entry.versions:
            if version not in available:
                continue
            namespaced = (await self._resource_list(entry.group, version)).get(entry.plural)
            if namespaced is not None:
                return Served(version, namespaced)
        return None

    async def _versions(self, group: str) -> tuple[str, ...]:
        if not group:
            if self._core is None:
                doc = await self._get("/api")
                self._core = tuple(str(v) for v in _list(doc, "versions", "/api"))
            return self._core
        if self._groups is None:
            doc = await self._get("/apis")
            self._groups = {}
            for item in _list(doc, "groups", "/apis"):
                if isinstance(item, Mapping) and isinstance(item.get("name"), str):
                    self._groups[item["name"]] = _group_versions(item)
        return self._groups.get(group, ())

    async def _resource_list(self, group: str, version: str) -> dict[str, bool]:
        """plural → namespaced for the resources (not subresources) of a group-version."""
        key = (group, version)
        if key not in self._resources:
            path = f"/apis/{group}/{version}" if group else f"/api/{version}"
            # 404: the group-version went away since /apis was read (a CRD being deleted).
            doc = await self._get(path, missing_ok=True)
            found: dict[str, bool] = {}
            for item in _list(doc, "resources", path) if doc is not None else []:
                name = item.get("name") if isinstance(item, Mapping) else None
                if isinstance(name, str) and "/" not in name:
                    found[name] = bool(item.get("namespaced"))
            self._resources[key] = found
        return self._resources[key]

    async def _get(self, path: str, *, missing_ok: bool = False) -> Any:
        doc = await get_json(self._api, path)
        if doc is None and not missing_ok:
            raise WatchError(f"API discovery: GET {path} answered 404")
        return doc


def _list(doc: Any, field: str, path: str) -> list[Any]:
    items = doc.get(field) if isinstance(doc, Mapping) else None
    if not isinstance(items, list):
        raise WatchError(f"API discovery: GET {path} holds no {field!r} list")
    return items


def _group_versions(group: Mapping[str, Any]) -> tuple[str, ...]:
    """The versions of an ``APIGroup`` entry: ``versions: [{groupVersion, version}, …]``."""
    versions = group.get("versions")
    if not isinstance(versions, list):
        return ()
    return tuple(str(v["version"]) for v in versions if isinstance(v, Mapping) and "version" in v)
