"""A Pod object → what the snapshot says of it: status, containers, node, owners, scheduler.

As the published exporter: the pod's status is its phase, from ``status.startTime`` to, once it
ended, the last container's ``finishedAt``; each container (init containers too) that has a status
is a sub-resource whose status is its state (``running``, ``terminated``, ``waiting``); the pod
``consumes`` its node; each owner ``makes`` it; its scheduler ``manages`` it and its containers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kg_exporter.glaciation.names import child_id, is_safe_name, pod_id

_ENDED = ("Succeeded", "Failed")
DEFAULT_SCHEDULER = "default-scheduler"


def pod_facts(obj: Mapping[str, Any], namespace: str, name: str) -> dict[str, Any]:
    spec = _mapping(obj.get("spec"))
    status = _mapping(obj.get("status"))
    pid = pod_id(namespace, name)
    containers = []
    finished: list[str] = []
    statuses = [
        *_list(status.get("initContainerStatuses")),
        *_list(status.get("containerStatuses")),
    ]
    for container in statuses:
        if not isinstance(container, Mapping) or not is_safe_name(container.get("name")):
            continue
        state_name, state = _state(container.get("state"))
        end = state.get("finishedAt") if isinstance(state.get("finishedAt"), str) else None
        if end is not None:
            finished.append(end)
        container_id = container.get("containerID")
        containers.append(
            {
                "id": child_id(pid, container["name"]),
                "name": container["name"],
                "container_id": container_id if isinstance(container_id, str) else None,
                "state": state_name,
                "start": state.get("startedAt")
                if isinstance(state.get("startedAt"), str)
                else None,
                "end": end,
            }
        )
    phase = status.get("phase") if isinstance(status.get("phase"), str) else "Unknown"
    start = status.get("startTime")
    node = spec.get("nodeName")
    # The API server defaults it; objects read from files may lack it.
    scheduler = spec.get("schedulerName", DEFAULT_SCHEDULER)
    return {
        "id": pid,
        "name": name,
        "phase": phase,
        "start": start if isinstance(start, str) else None,
        # RFC 3339 UTC timestamps of one format order as strings.
        "end": max(finished) if phase in _ENDED and finished else None,
        "node": node if is_safe_name(node) else None,
        "containers": sorted(containers, key=lambda c: c["id"]),
        "owners": owners(obj),
        "scheduler": scheduler if is_safe_name(scheduler) else None,
    }


def owners(obj: Mapping[str, Any]) -> list[dict[str, str]]:
    """The object's owners as tasks: ``{"id": name, "kind": kind}``."""
    found = []
    for ref in _list(_mapping(obj.get("metadata")).get("ownerReferences")):
        if (
            isinstance(ref, Mapping)
            and is_safe_name(ref.get("name"))
            and is_safe_name(ref.get("kind"))
        ):
            found.append({"id": ref["name"], "kind": ref["kind"]})
    return found


def _state(value: object) -> tuple[str | None, Mapping[str, Any]]:
    for key in ("running", "terminated", "waiting"):
        state = _mapping(value).get(key)
        if isinstance(state, Mapping):
            return key, state
    return None, {}


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []
