"""Kubernetes ``Status`` failures, raised inside the fake and rendered as the apiserver would.

Messages and reasons copy the real apiserver's wording, because clients (and our daemon's logs)
show them verbatim, and kubernetes_asyncio's Watch builds its ApiException from them.
"""

from __future__ import annotations

from typing import Any

from .resources import Obj, Resource


class KubeError(Exception):
    """A failure the API answers with a ``Status`` object; also raised by the test controls."""

    def __init__(
        self, code: int, reason: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{code} {reason}: {message}")
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def to_status(self) -> Obj:
        return status_failure(self.code, self.reason, self.message, self.details)


def status_failure(
    code: int, reason: str, message: str, details: dict[str, Any] | None = None
) -> Obj:
    status: Obj = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        status["details"] = details
    return status


def _details(res: Resource, name: str) -> dict[str, Any]:
    # The apiserver puts the plural in details.kind; clients rely on it only for display.
    details: dict[str, Any] = {"name": name, "kind": res.plural}
    if res.group:
        details["group"] = res.group
    return details


def not_found(res: Resource, name: str) -> KubeError:
    return KubeError(404, "NotFound", f'{res.qualified} "{name}" not found', _details(res, name))


def already_exists(res: Resource, name: str) -> KubeError:
    return KubeError(
        409, "AlreadyExists", f'{res.qualified} "{name}" already exists', _details(res, name)
    )


def conflict(res: Resource, name: str) -> KubeError:
    return KubeError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {res.qualified} "{name}": the object has been '
        "modified; please apply your changes to the latest version and try again",
        _details(res, name),
    )


def invalid(res: Resource, name: str, message: str) -> KubeError:
    return KubeError(
        422, "Invalid", f'{res.kind} "{name}" is invalid: {message}', _details(res, name)
    )


#: Who the fake's token belongs to, as the apiserver names the user in a 403.
USER = "system:serviceaccount:kg-exporter:kg-exporter"


def forbidden(res: Resource, verb: str, namespace: str | None) -> KubeError:
    """What RBAC answers a request it does not allow, word for word."""
    where = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    details: dict[str, Any] = {"kind": res.plural}
    if res.group:
        details["group"] = res.group
    return KubeError(
        403,
        "Forbidden",
        f'{res.qualified} is forbidden: User "{USER}" cannot {verb} resource "{res.plural}" in '
        f'API group "{res.group}" {where}',
        details,
    )


def bad_request(message: str) -> KubeError:
    return KubeError(400, "BadRequest", message)


def expired(message: str) -> KubeError:
    return KubeError(410, "Expired", message)


def too_old(requested: int, oldest: int) -> KubeError:
    """What a watch from a compacted resourceVersion gets, as an ERROR event."""
    return expired(f"too old resource version: {requested} ({oldest})")


_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    410: "Expired",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


def injected(code: int) -> KubeError:
    """A failure a test asked for, with the reason the apiserver gives that code."""
    return KubeError(code, _REASONS.get(code, "InternalError"), f"injected failure ({code})")
