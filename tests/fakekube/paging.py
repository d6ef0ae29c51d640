"""``limit``/``continue`` paging over a consistent snapshot.

The apiserver reads later pages from etcd at the first page's revision; the fake keeps the
first page's full (filtered) result instead. Either way every object is returned exactly once
even while writes go on, and a token whose revision has been compacted away answers 410 Expired.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections import OrderedDict
from dataclasses import dataclass

from . import errors
from .resources import Obj

_TOO_OLD = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this "
    "response to retrieve the remainder of the results. Continuing with the provided token "
    "results in an inconsistent list - objects that were created, modified, or deleted between "
    "the time the first chunk was returned and now may show up in the list."
)


@dataclass(frozen=True)
class Page:
    items: list[Obj]
    resource_version: int
    continue_token: str | None
    remaining: int | None


class Pager:
    def __init__(self, max_snapshots: int = 256) -> None:
        # Unconsumed snapshots, oldest first; bounded so an abandoned paging walk cannot leak.
        self._snapshots: OrderedDict[str, tuple[int, list[Obj]]] = OrderedDict()
        self._max = max_snapshots

    def first(self, items: list[Obj], rv: int, limit: int | None) -> Page:
        if not limit or limit >= len(items):
            return Page(items, rv, None, None)
        snap_id = secrets.token_hex(8)
        self._snapshots[snap_id] = (rv, items)
        while len(self._snapshots) > self._max:
            self._snapshots.popitem(last=False)
        return self._slice(snap_id, rv, items, 0, limit)

    def next(self, token: str, limit: int | None, compacted_rv: int) -> Page:
        try:
            data = json.loads(base64.urlsafe_b64decode(token.encode()))
            rv, snap_id, start = int(data["rv"]), str(data["id"]), int(data["start"])
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise errors.bad_request(f"continue key is not valid: {exc}") from exc
        if rv < compacted_rv or snap_id not in self._snapshots:
            raise errors.expired(_TOO_OLD)
        snap_rv, items = self._snapshots[snap_id]
        return self._slice(snap_id, snap_rv, items, start, limit or len(items))

    def _slice(self, snap_id: str, rv: int, items: list[Obj], start: int, limit: int) -> Page:
        end = start + limit
        if end >= len(items):
            # The snapshot stays until evicted, so a client retrying a page still gets it.
            return Page(items[start:], rv, None, None)
        # Same shape as the apiserver's token (base64 JSON with the revision); opaque to clients.
        raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "id": snap_id, "start": end})
        token = base64.urlsafe_b64encode(raw.encode()).decode()
        return Page(items[start:end], rv, token, len(items) - end)
