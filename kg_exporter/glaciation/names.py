"""Resource ids of the platform's scheme, relative to ``glaciation.resource_base``.

A node is ``<node>``, a pod ``<namespace>.<pod>``, a container ``<namespace>.<pod>.<container>``,
a task (any workload or owner) ``<name>``, a sub-resource ``<resource>.<CPU|GPU|RAM|Storage|
Network>``, a measurement ``<resource>.<property>.<timestamp ms>``. Documents write them as
``cluster:<id>`` with ``cluster`` bound to the base, as the published exporter does.

Ids are only safe as compact IRIs when they hold no character an IRI forbids: Kubernetes names
(DNS subdomains and labels) never do, and :func:`is_safe_name` keeps anything else out.
"""

from __future__ import annotations

import re
from typing import TypeGuard

_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,252})$")


def is_safe_name(value: object) -> TypeGuard[str]:
    """True for a name that can be part of a resource id (what the API server accepts)."""
    return isinstance(value, str) and _NAME.match(value) is not None


def pod_id(namespace: str, name: str) -> str:
    return f"{namespace}.{name}"


def child_id(parent: str, part: str) -> str:
    return f"{parent}.{part}"


def measurement_id(resource: str, prop: str, timestamp_ms: int) -> str:
    return f"{resource}.{prop}.{timestamp_ms}"
