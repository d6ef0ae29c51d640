"""Listing and watching the Kubernetes API: the only package that imports ``kubernetes_asyncio``.

:class:`Watcher` keeps one :class:`Target` (a kind, in one namespace or all) listed and watched and
feeds what it sees to a :class:`Handler`; :func:`open_api_client` makes the client.
"""

from kg_exporter.watch.client import open_api_client
from kg_exporter.watch.cycle import Cursor
from kg_exporter.watch.loop import Watcher
from kg_exporter.watch.stream import ApiStatusError, Expired
from kg_exporter.watch.targets import NODE_TARGET, EventType, Handler, Target, targets_for

__all__ = [
    "NODE_TARGET",
    "ApiStatusError",
    "Cursor",
    "EventType",
    "Expired",
    "Handler",
    "Target",
    "Watcher",
    "open_api_client",
    "targets_for",
]
