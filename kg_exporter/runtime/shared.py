"""The daemon's watches, shared: one list+watch per target, whose every listing and event goes to
the daemon's dispatcher and then to whoever subscribed to that target (the ``glaciation``
profile's inventory), so a kind both need is listed and watched once, not once per consumer.

A subscriber names the target as it would watch it itself, and receives everything under that
target, so its per-target bookkeeping (what a relist no longer lists) works as with a watch of its
own. The version is not part of the match: the daemon resolves it through API discovery, and a
resource reads the same at any version served. Namespace and label selector are: a watch of one
namespace, or of the objects a selector picks, is not the whole collection a subscriber asked for.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kg_exporter.watch import EventType, Target
from kg_exporter.watch.targets import Handler

_Key = tuple[str, str, str, str | None, str | None]


def _key(target: Target) -> _Key:
    return (target.kind, target.group, target.plural, target.namespace, target.label_selector)


class SharedWatches:
    """A watch :class:`~kg_exporter.watch.targets.Handler`: ``primary`` first, then each
    subscriber of the target. ``offered``: the targets the daemon watches (when served)."""

    def __init__(self, primary: Handler, offered: Iterable[Target]) -> None:
        self._primary = primary
        self._offered = {_key(target) for target in offered}
        self._subscribers: dict[_Key, list[tuple[Target, Handler]]] = {}

    def subscribe(self, target: Target, handler: Handler) -> bool:
        """Deliver what the daemon's watch of ``target`` sees to ``handler`` as well, under
        ``target``; False when the daemon has no such watch (the caller then watches it itself).
        Before the watches start: a listing already under way would reach ``handler`` in part."""
        key = _key(target)
        if key not in self._offered:
            return False
        self._subscribers.setdefault(key, []).append((target, handler))
        return True

    def list_started(self, target: Target) -> None:
        self._primary.list_started(target)
        for own, handler in self._subscribers.get(_key(target), ()):
            handler.list_started(own)

    def listed(self, target: Target, obj: Mapping[str, Any]) -> None:
        self._primary.listed(target, obj)
        for own, handler in self._subscribers.get(_key(target), ()):
            handler.listed(own, obj)

    def list_finished(self, target: Target) -> None:
        self._primary.list_finished(target)
        for own, handler in self._subscribers.get(_key(target), ()):
            handler.list_finished(own)

    def event(self, target: Target, event_type: EventType, obj: Mapping[str, Any]) -> None:
        self._primary.event(target, event_type, obj)
        for own, handler in self._subscribers.get(_key(target), ()):
            handler.event(own, event_type, obj)
