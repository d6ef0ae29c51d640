"""Resource endpoints: list, get, create, update, patch, delete, and the status/scale
subresources. Each handler turns HTTP into a store call; the store owns the semantics."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from . import errors
from .errors import KubeError
from .paging import Pager
from .patch import JSON_PATCH_TYPE, MERGE_TYPES, json_patch, merge_patch
from .paths import Target, is_watch
from .resources import Obj, Resource
from .selection import Selector
from .store import Store
from .watching import WatchStream, as_version


def _json(obj: Obj, status: int = 200) -> web.Response:
    return web.json_response(obj, status=status)


async def _body(request: web.Request) -> Any:
    try:
        return json.loads(await request.read())
    except ValueError as exc:
        raise errors.bad_request(f"the request body is not valid JSON: {exc}") from exc


def _object_body(body: Any, res: Resource) -> Obj:
    if not isinstance(body, dict):
        raise errors.bad_request(f"expected a {res.kind} object")
    if body.get("kind") not in (None, res.kind):
        raise errors.bad_request(f"the kind in the data ({body['kind']}) must be {res.kind}")
    return body


def _selector_string(obj: Obj) -> str:
    labels = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def scale_of(obj: Obj) -> Obj:
    """The autoscaling/v1 Scale view of a Deployment or StatefulSet."""
    meta = obj["metadata"]
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in meta
        },
        "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 1)},
        "status": {
            "replicas": (obj.get("status") or {}).get("replicas", 0),
            "selector": _selector_string(obj),
        },
    }


def _patcher(content_type: str, body: Any) -> Callable[[Obj], Obj]:
    """The function a PATCH of this content type applies to the stored object."""
    if content_type in MERGE_TYPES:
        if not isinstance(body, dict):
            raise errors.bad_request("a merge patch must be a JSON object")
        return lambda obj: merge_patch(obj, body)
    if content_type == JSON_PATCH_TYPE:
        if not isinstance(body, list):
            raise errors.bad_request("a JSON patch must be a JSON array")

        def apply(obj: Obj) -> Obj:
            try:
                return json_patch(obj, body)  # type: ignore[no-any-return]
            except ValueError as exc:
                raise KubeError(422, "Invalid", str(exc)) from exc

        return apply
    accepted = ", ".join(sorted(MERGE_TYPES | {JSON_PATCH_TYPE}))
    raise KubeError(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format - accepted media types "
        f"include: {accepted}",
    )


class ResourceHandlers:
    def __init__(self, store: Store, pager: Pager, watches: WatchStream) -> None:
        self._store = store
        self._pager = pager
        self._watches = watches

    async def handle(self, request: web.Request, target: Target) -> web.StreamResponse:
        if target.name is None:
            if request.method == "GET":
                if is_watch(request.query):
                    return await self._watches.serve(request, target)
                return self._list(request, target)
            if request.method == "POST" and (target.namespace or not target.resource.namespaced):
                return await self._create(request, target)
        else:
            if target.subresource == "scale" and not target.resource.has_scale:
                raise KubeError(404, "NotFound", "the server could not find the requested resource")
            if target.subresource == "status" and not target.resource.has_status:
                raise KubeError(404, "NotFound", "the server could not find the requested resource")
            if request.method == "GET":
                return self._get(target)
            if request.method == "PUT":
                return await self._update(request, target)
            if request.method == "PATCH":
                return await self._patch(request, target)
            if request.method == "DELETE" and target.subresource is None:
                return self._delete(target)
        raise KubeError(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )

    def _list(self, request: web.Request, target: Target) -> web.Response:
        res, query = target.resource, request.query
        try:
            limit = int(query["limit"]) if query.get("limit") else None
        except ValueError as exc:
            raise errors.bad_request(f"invalid limit: {query['limit']!r}") from exc
        if query.get("continue"):
            page = self._pager.next(query["continue"], limit, self._store.compacted_rv)
        else:
            try:
                selector = Selector.parse(query.get("labelSelector"), query.get("fieldSelector"))
            except ValueError as exc:
                raise errors.bad_request(str(exc)) from exc
            rv, items = self._store.list(res, target.namespace)
            page = self._pager.first([o for o in items if selector.matches(o)], rv, limit)
        meta: Obj = {"resourceVersion": str(page.resource_version)}
        if page.continue_token:
            meta["continue"] = page.continue_token
            meta["remainingItemCount"] = page.remaining
        # Like the apiserver, list items carry no kind/apiVersion: only the list does.
        items = [
            {k: v for k, v in o.items() if k not in ("kind", "apiVersion")} for o in page.items
        ]
        return _json(
            {"kind": res.list_kind, "apiVersion": res.api_version, "metadata": meta, "items": items}
        )

    def _get(self, target: Target) -> web.Response:
        assert target.name is not None
        obj = self._store.get(target.resource, target.namespace, target.name)
        return _json(
            scale_of(obj) if target.subresource == "scale" else as_version(obj, target.resource)
        )

    async def _create(self, request: web.Request, target: Target) -> web.Response:
        body = _object_body(await _body(request), target.resource)
        obj = self._store.create(target.resource, body, namespace=target.namespace)
        return _json(obj, 201)

    async def _update(self, request: web.Request, target: Target) -> web.Response:
        assert target.name is not None
        res = target.resource
        if target.subresource == "scale":
            body = await _body(request)
            if not isinstance(body, dict):
                raise errors.bad_request("expected a Scale object")
            return self._set_scale(target, body)
        body = _object_body(await _body(request), res)
        meta = body.setdefault("metadata", {})
        if meta.get("name") != target.name:
            raise errors.bad_request(
                f"the name of the object ({meta.get('name')}) does not match the name on the "
                f"URL ({target.name})"
            )
        if res.namespaced:
            if meta.get("namespace") not in (None, "", target.namespace):
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on "
                    "the request"
                )
            meta["namespace"] = target.namespace
        return _json(self._store.update(res, body, subresource=target.subresource))

    async def _patch(self, request: web.Request, target: Target) -> web.Response:
        assert target.name is not None
        apply = _patcher(request.content_type, await _body(request))
        if target.subresource == "scale":
            current = self._store.get(target.resource, target.namespace, target.name)
            return self._set_scale(target, apply(scale_of(current)))
        return _json(
            self._store.patch(
                target.resource,
                target.namespace,
                target.name,
                apply,
                subresource=target.subresource,
            )
        )

    def _set_scale(self, target: Target, scale: Obj) -> web.Response:
        assert target.name is not None
        replicas = (scale.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or replicas < 0:
            raise errors.invalid(
                target.resource,
                target.name,
                "spec.replicas: Invalid value: must be a non-negative integer",
            )
        wanted_rv = (scale.get("metadata") or {}).get("resourceVersion")

        def apply(obj: Obj) -> Obj:
            obj.setdefault("spec", {})["replicas"] = replicas
            if wanted_rv:
                obj["metadata"]["resourceVersion"] = wanted_rv
            return obj

        obj = self._store.patch(target.resource, target.namespace, target.name, apply)
        return _json(scale_of(obj))

    def _delete(self, target: Target) -> web.Response:
        assert target.name is not None
        res = target.resource
        obj = self._store.delete(res, target.namespace, target.name)
        if res.kind == "Pod" or obj["metadata"].get("deletionTimestamp"):
            # Pods and objects held by finalizers come back as themselves, as in Kubernetes.
            return _json(obj)
        details: Obj = {"name": target.name, "kind": res.plural, "uid": obj["metadata"].get("uid")}
        if res.group:
            details["group"] = res.group
        return _json(
            {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "details": details,
            }
        )
