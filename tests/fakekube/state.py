"""Mutable server-wide state the tests steer and inspect: settings, injected faults, counters.

Lives on the server's event loop like the store; ``control.py`` reads it through the loop.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from dataclasses import dataclass, field


@dataclass
class Settings:
    token: str | None = "fake-token"  # None: accept any (or no) Authorization header
    bookmark_interval: float = 1.0  # seconds; the real apiserver sends one about every minute
    # Seconds a watch without timeoutSeconds stays open. The apiserver picks 30-60 min; None
    # keeps it open until the test drops it or the server stops.
    default_watch_timeout: float | None = None
    # How often an idle watch checks whether its client went away (aiohttp does not tell it).
    liveness_check: float = 0.5


@dataclass(frozen=True)
class RequestRecord:
    verb: str  # get, list, watch, create, update, patch, delete
    path: str
    query: str
    status: int


@dataclass
class Stats:
    # Counted on arrival, so a watch that is still open already counts.
    requests: Counter[tuple[str, str]] = field(default_factory=Counter)  # (verb, path) → n
    # Appended on completion, when the status is known (a watch: when its stream ends).
    log: list[RequestRecord] = field(default_factory=list)
    events_sent: Counter[str] = field(default_factory=Counter)  # event type → n


@dataclass
class Faults:
    unavailable_until: float = -math.inf  # loop time; math.inf: until switched off
    refuse: bool = False  # while unavailable: drop connections instead of answering 503
    # (plural or None for any resource, code) for the next watches
    watch_failures: deque[tuple[str | None, int]] = field(default_factory=deque)
    request_failures: deque[tuple[str | None, int]] = field(default_factory=deque)
    # qualified resource (``jobsets.jobset.x-k8s.io``) → the verbs answered 403, as when RBAC
    # grants the client nothing on it
    forbidden: dict[str, frozenset[str]] = field(default_factory=dict)

    def unavailable(self, now: float) -> bool:
        return now < self.unavailable_until

    def take_watch_failure(self, plural: str) -> int | None:
        for i, (wanted, code) in enumerate(self.watch_failures):
            if wanted is None or wanted == plural:
                del self.watch_failures[i]
                return code
        return None

    def take_request_failure(self, verb: str) -> int | None:
        for i, (wanted, code) in enumerate(self.request_failures):
            if wanted is None or wanted == verb:
                del self.request_failures[i]
                return code
        return None
