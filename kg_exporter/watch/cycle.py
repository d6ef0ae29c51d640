"""One list-then-watch cycle of one target.

:func:`relist` pages through the collection (``limit``/``continue``) and hands each object to the
handler as it arrives; :func:`watch` follows the stream from the listing's resourceVersion with
bookmarks. Both advance a :class:`Cursor`, so after any failure the caller knows whether it can
resume the watch (a resourceVersion is known) or must relist (it is not, or the server said 410).
"""

from __future__ import annotations

from dataclasses import dataclass

from kubernetes_asyncio.client import ApiClient

from kg_exporter.errors import WatchError
from kg_exporter.watch.stream import list_page, watch_events
from kg_exporter.watch.targets import EventType, Handler, Target

_EVENT_TYPES = {t.value: t for t in EventType}


@dataclass(slots=True)
class Cursor:
    """Where the next watch starts; None: relist first."""

    resource_version: str | None = None
    #: Events (bookmarks included) received since the last (re)connect: a watch that delivers
    #: anything is healthy, which resets the reconnect backoff.
    received: int = 0


async def relist(
    api: ApiClient, target: Target, handler: Handler, cursor: Cursor, *, page_size: int
) -> int:
    """List every object of ``target`` into ``handler``; the number listed. On success the cursor
    holds the listing's resourceVersion; on failure it is None (relist again)."""
    cursor.resource_version = None
    handler.list_started(target)
    count, token = 0, None
    while True:
        page = await list_page(api, target, limit=page_size, continue_token=token)
        for obj in page.items:
            handler.listed(target, obj)
        count += len(page.items)
        if page.continue_token is not None and page.continue_token == token:
            # A server handing back the token it was given would page forever.
            raise WatchError(f"listing {target}: the server repeated its continue token")
        token = page.continue_token
        if token is None:
            break
    handler.list_finished(target)
    cursor.resource_version = page.resource_version
    return count


async def watch(
    api: ApiClient, target: Target, handler: Handler, cursor: Cursor, *, timeout_seconds: int
) -> None:
    """Follow ``target`` from the cursor until the server ends the stream; raises on failure with
    the cursor at the last event received."""
    assert cursor.resource_version is not None, "watch needs a resourceVersion: relist first"
    cursor.received = 0
    async for event in watch_events(
        api, target, resource_version=cursor.resource_version, timeout_seconds=timeout_seconds
    ):
        cursor.received += 1
        event_type = _EVENT_TYPES.get(event.type)
        if event_type is not None:
            handler.event(target, event_type, event.object)
        # Bookmarks and unknown types only move the cursor.
        if event.resource_version is not None:
            cursor.resource_version = event.resource_version
