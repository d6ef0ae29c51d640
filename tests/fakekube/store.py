"""Objects, the global resourceVersion counter, the event history and watch subscriptions.

Deliberately single-threaded: every method runs on the fake server's event loop (the test
controls in ``control.py`` marshal onto it). That makes "snapshot the history and subscribe" one
atomic step, so a watch can never miss or duplicate an event between replay and live delivery.

Stored objects are never mutated in place — every write stores a fresh dict — so events and the
object table may share them; callers outside get deep copies.
"""

from __future__ import annotations

import asyncio
import copy
import secrets
import string
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from . import errors
from .crds import check, established, is_established, resources_of
from .resources import CRD, Obj, Registry, Resource

ObjectKey = tuple[str, str, str]  # (qualified resource, namespace or "", name)

_SERVER_OWNED = ("name", "namespace", "uid", "creationTimestamp", "generation")
# A client (not a test control) cannot set these either; only deletion does.
_SERVER_OWNED_API = (*_SERVER_OWNED, "deletionTimestamp", "deletionGracePeriodSeconds")


class EventType(StrEnum):
    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"


@dataclass(frozen=True)
class Change:
    """One write, as the watch cache records it."""

    type: EventType
    rv: int
    resource: Resource
    namespace: str
    obj: Obj  # the object after the write; for DELETED its last state, stamped with this rv
    old: Obj | None  # before the write, so a label-selector watch can see objects leave/enter


@dataclass(frozen=True)
class StreamEnd:
    """Queued to a subscription to end its watch: cleanly (EOF) or abruptly (reset)."""

    abrupt: bool


@dataclass(eq=False)
class Subscription:
    resource: Resource
    namespace: str | None  # None: all namespaces
    queue: asyncio.Queue[Change | StreamEnd] = field(default_factory=asyncio.Queue)

    def wants(self, change: Change) -> bool:
        # By qualified name: a watch of any served version of a CRD sees every write.
        return change.resource.qualified == self.resource.qualified and (
            self.namespace is None or self.namespace == change.namespace
        )


def utc_now() -> datetime:
    return datetime.now(UTC)


def rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _spec_of(obj: Obj) -> Obj:
    # generation counts changes to everything but metadata and status, as the apiserver does.
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "kind", "apiVersion")}


def _without_rv(obj: Obj) -> Obj:
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k != "resourceVersion"}
    return {**obj, "metadata": meta}


class Store:
    def __init__(
        self,
        *,
        history_limit: int = 10_000,
        clock: Callable[[], datetime] = utc_now,
        validate: Callable[[Resource, Obj], None] | None = None,
    ) -> None:
        self._objects: dict[ObjectKey, Obj] = {}
        self._rv = 0
        # Watches from a resourceVersion below this get 410: the events after it are forgotten.
        self._compacted_rv = 0
        self._history: deque[Change] = deque()
        self._history_limit = history_limit
        self._subs: set[Subscription] = set()
        self._clock = clock
        self.validate = validate  # raises KubeError for an object that must not be stored
        #: What is served: the built-ins and what the stored CRDs define.
        self.registry = Registry()

    # -- reads -----------------------------------------------------------------------------

    @property
    def resource_version(self) -> int:
        return self._rv

    @property
    def compacted_rv(self) -> int:
        return self._compacted_rv

    @property
    def subscriptions(self) -> int:
        return len(self._subs)

    def namespace_of(self, res: Resource, namespace: str | None) -> str:
        if not res.namespaced:
            return ""
        return namespace or "default"

    def get(self, res: Resource, namespace: str | None, name: str) -> Obj:
        key = (res.qualified, self.namespace_of(res, namespace), name)
        if key not in self._objects:
            raise errors.not_found(res, name)
        return copy.deepcopy(self._objects[key])

    def list(self, res: Resource, namespace: str | None) -> tuple[int, list[Obj]]:
        """Current objects sorted by (namespace, name), as etcd's key order returns them."""
        return self._rv, [copy.deepcopy(o) for o in self._iter(res, namespace)]

    def _iter(self, res: Resource, namespace: str | None) -> Iterator[Obj]:
        for key in sorted(k for k in self._objects if k[0] == res.qualified):
            if namespace is None or key[1] == namespace:
                yield self._objects[key]

    # -- writes ----------------------------------------------------------------------------

    def create(
        self, res: Resource, obj: Obj, *, namespace: str | None = None, as_api: bool = True
    ) -> Obj:
        """Store a new object. ``as_api`` applies the apiserver's rules (status reset on create);
        test controls pass False so a test can create e.g. a Pod already Running."""
        new = copy.deepcopy(obj)
        meta = new.setdefault("metadata", {})
        if res.namespaced:
            if namespace and meta.get("namespace") and meta["namespace"] != namespace:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent "
                    "on the request"
                )
            meta["namespace"] = namespace or meta.get("namespace") or "default"
        else:
            meta.pop("namespace", None)
        if not meta.get("name"):
            if not meta.get("generateName"):
                raise errors.invalid(
                    res, "", "metadata.name: Required value: name or generateName is required"
                )
            suffix = "".join(
                secrets.choice(string.ascii_lowercase + string.digits) for _ in "12345"
            )
            meta["name"] = meta["generateName"] + suffix
        key = (res.qualified, meta.get("namespace", ""), meta["name"])
        if key in self._objects:
            raise errors.already_exists(res, meta["name"])
        meta.pop("resourceVersion", None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = rfc3339(self._clock())
        meta["generation"] = 1
        if as_api:
            meta.pop("deletionTimestamp", None)
            if res.has_status and res.resets_status_on_create:
                new["status"] = {"phase": "Pending"} if res.kind == "Pod" else {}
        new["kind"], new["apiVersion"] = res.kind, res.api_version
        return copy.deepcopy(self._write(res, key, new, None))

    def update(
        self, res: Resource, obj: Obj, *, subresource: str | None = None, as_api: bool = True
    ) -> Obj:
        """Replace an object (PUT). A non-empty metadata.resourceVersion must match the stored
        one (optimistic concurrency, what leader election relies on); an empty one is an
        unconditional update, which the apiserver allows for these kinds."""
        meta = obj.get("metadata") or {}
        key = (res.qualified, self.namespace_of(res, meta.get("namespace")), meta.get("name", ""))
        current = self._objects.get(key)
        if current is None:
            raise errors.not_found(res, key[2])
        wanted = meta.get("resourceVersion")
        if wanted and str(wanted) != current["metadata"]["resourceVersion"]:
            raise errors.conflict(res, key[2])
        return copy.deepcopy(self._replace(res, key, current, obj, subresource, as_api))

    def patch(
        self,
        res: Resource,
        namespace: str | None,
        name: str,
        apply: Callable[[Obj], Obj],
        *,
        subresource: str | None = None,
        as_api: bool = True,
    ) -> Obj:
        """``apply`` maps the current object to the desired one. A patch that sets
        metadata.resourceVersion is a precondition, exactly like a PUT."""
        current = self.get(res, namespace, name)
        desired = apply(copy.deepcopy(current))
        desired.setdefault("metadata", {})
        desired["metadata"]["name"] = name
        desired["metadata"]["namespace"] = current["metadata"].get("namespace")
        return self.update(res, desired, subresource=subresource, as_api=as_api)

    def delete(self, res: Resource, namespace: str | None, name: str) -> Obj:
        """Delete; an object with finalizers only gets a deletionTimestamp (MODIFIED) and goes
        away once an update empties its finalizers — as in Kubernetes."""
        key = (res.qualified, self.namespace_of(res, namespace), name)
        current = self._objects.get(key)
        if current is None:
            raise errors.not_found(res, name)
        if res is CRD:
            self._drop_custom_resources(name)
        meta = current["metadata"]
        if meta.get("finalizers"):
            if meta.get("deletionTimestamp"):
                return copy.deepcopy(current)
            new = copy.deepcopy(current)
            new["metadata"]["deletionTimestamp"] = rfc3339(self._clock())
            new["metadata"]["deletionGracePeriodSeconds"] = 0
            return copy.deepcopy(self._write(res, key, new, current))
        return copy.deepcopy(self._remove(res, key, current))

    def compact(self) -> int:
        """Forget all history: a watch from any older resourceVersion now gets 410 Expired."""
        self._history.clear()
        self._compacted_rv = self._rv
        return self._rv

    # -- watching --------------------------------------------------------------------------

    def subscribe(self, res: Resource, namespace: str | None, since: int | None) -> Subscription:
        """Start a watch. ``since=None`` replays every current object as ADDED (what the
        apiserver does for a watch without resourceVersion, or with "0"); otherwise only the
        changes after ``since`` are replayed, or 410 if they are no longer known."""
        if since is not None and since < self._compacted_rv:
            raise errors.too_old(since, self._compacted_rv)
        sub = Subscription(res, namespace)
        if since is None:
            for obj in self._iter(res, namespace):
                rv = int(obj["metadata"]["resourceVersion"])
                ns = obj["metadata"].get("namespace", "")
                sub.queue.put_nowait(Change(EventType.ADDED, rv, res, ns, obj, None))
        else:
            for change in self._history:
                if change.rv > since and sub.wants(change):
                    sub.queue.put_nowait(change)
        self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.discard(sub)

    def end_watches(self, *, abrupt: bool) -> int:
        for sub in self._subs:
            sub.queue.put_nowait(StreamEnd(abrupt))
        return len(self._subs)

    # -- internals -------------------------------------------------------------------------

    def _replace(
        self,
        res: Resource,
        key: ObjectKey,
        current: Obj,
        desired: Obj,
        subresource: str | None,
        as_api: bool,
    ) -> Obj:
        if subresource == "status":
            # /status changes status only; everything else is kept as stored.
            new = copy.deepcopy(current)
            new["status"] = copy.deepcopy(desired.get("status") or {})
        else:
            new = copy.deepcopy(desired)
            if as_api and res.has_status:
                # With a status subresource, the main endpoint ignores status changes.
                if "status" in current:
                    new["status"] = copy.deepcopy(current["status"])
                else:
                    new.pop("status", None)
        meta = new.setdefault("metadata", {})
        cur_meta = current["metadata"]
        for name in _SERVER_OWNED_API if as_api else _SERVER_OWNED:
            if name in cur_meta:
                meta[name] = cur_meta[name]
            else:
                meta.pop(name, None)
        new["kind"], new["apiVersion"] = res.kind, res.api_version
        if _spec_of(new) != _spec_of(current):
            meta["generation"] = int(cur_meta.get("generation", 0)) + 1
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            # The last finalizer is gone: the pending deletion completes now.
            return self._remove(res, key, new)
        if _without_rv(new) == _without_rv(current):
            # A no-op write changes nothing: no new resourceVersion, no watch event.
            return current
        return self._write(res, key, new, current)

    def _stamp(self, obj: Obj) -> int:
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        return self._rv

    def _write(self, res: Resource, key: ObjectKey, new: Obj, old: Obj | None) -> Obj:
        if res is CRD:
            check(new, self.registry)
        if self.validate is not None and not res.custom:
            self.validate(res, new)
        rv = self._stamp(new)
        self._objects[key] = new
        kind = EventType.ADDED if old is None else EventType.MODIFIED
        self._record(Change(kind, rv, res, key[1], new, old))
        if res is CRD:
            return self._crd_written(key, new)
        return new

    # -- custom resources ------------------------------------------------------------------

    def _crd_written(self, key: ObjectKey, crd: Obj) -> Obj:
        """Serve what the CRD now defines; the versions it no longer serves end their watches.
        A new CRD is then established at once, as its controllers would do a moment later."""
        self._end_watches_of(self.registry.define(key[2], resources_of(crd)))
        if is_established(crd):
            return crd
        new = copy.deepcopy(crd)
        new["status"] = established(crd, rfc3339(self._clock()))
        return self._write(CRD, key, new, crd)

    def _drop_custom_resources(self, crd_name: str) -> None:
        """A CRD being deleted: every object of it is deleted (DELETED events), then its
        endpoints go away and the watches on them end — what the apiserver's cleanup finalizer
        does before the CRD itself is removed."""
        served = self.registry.defined_by(crd_name)
        if served:
            res = served[0]
            for key in sorted(k for k in self._objects if k[0] == res.qualified):
                self._remove(res, key, self._objects[key])
        self._end_watches_of(self.registry.define(crd_name, ()))

    def _end_watches_of(self, resources: tuple[Resource, ...]) -> None:
        for sub in self._subs:
            if sub.resource in resources:
                sub.queue.put_nowait(StreamEnd(abrupt=False))

    def _remove(self, res: Resource, key: ObjectKey, last: Obj) -> Obj:
        gone = copy.deepcopy(last)
        rv = self._stamp(gone)
        old = self._objects.pop(key)
        self._record(Change(EventType.DELETED, rv, res, key[1], gone, old))
        return gone

    def _record(self, change: Change) -> None:
        self._history.append(change)
        while len(self._history) > self._history_limit:
            self._compacted_rv = self._history.popleft().rv
        for sub in self._subs:
            if sub.wants(change):
                sub.queue.put_nowait(change)
