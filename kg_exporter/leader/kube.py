"""The :class:`~kg_exporter.leader.record.LeaseApi` on a real cluster, via ``kubernetes_asyncio``.

Besides ``kg_exporter/watch/``, this is the one module allowed to import ``kubernetes_asyncio``:
the client's models and exceptions stop here, the elector only sees :class:`LeaseRecord`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import aiohttp
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException
from prometheus_client import CollectorRegistry

from kg_exporter.leader.config import election_config
from kg_exporter.leader.elector import LeaderElector
from kg_exporter.leader.metrics import leader_gauge
from kg_exporter.leader.record import LeaseApiError, LeaseConflict, LeaseRecord
from kg_exporter.settings import LeaderSettings


class KubeLeaseApi:
    """Leases through an ``ApiClient`` the caller owns (and closes)."""

    def __init__(self, api_client: client.ApiClient) -> None:
        self._leases = client.CoordinationV1Api(api_client)

    async def get(self, namespace: str, name: str) -> LeaseRecord | None:
        # Read as JSON, not through the client's models: they raise ValueError or TypeError out of
        # the elector for `leaseDurationSeconds: "abc"` or `renewTime: 12345`, and an ApiException
        # for an unparsable time, on every read, so such a Lease could never be taken over.
        try:
            # The raw aiohttp response (the stubs say V1Lease: they do not model this option).
            response: Any = await self._leases.read_namespaced_lease(
                name, namespace, _preload_content=False
            )
            try:
                status, reason, body = response.status, response.reason, await response.read()
            finally:
                response.release()
        except ApiException as exc:
            raise _error(exc, "read", namespace, name) from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _unreachable(exc, "read", namespace, name) from exc
        if status == 404:
            return None
        if not 200 <= status <= 299:
            raise _error(ApiException(status=status, reason=reason), "read", namespace, name)
        try:
            data = json.loads(body)
        except (ValueError, RecursionError) as exc:
            raise LeaseApiError(f"read lease {namespace}/{name}: the answer is not JSON") from exc
        return _record_of(data)

    async def create(self, namespace: str, name: str, record: LeaseRecord) -> LeaseRecord:
        body = _lease(namespace, name, record)
        try:
            lease = await self._leases.create_namespaced_lease(namespace, body)
        except ApiException as exc:
            raise _error(exc, "create", namespace, name) from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _unreachable(exc, "create", namespace, name) from exc
        return _record(lease)

    async def replace(self, namespace: str, name: str, record: LeaseRecord) -> LeaseRecord:
        body = _lease(namespace, name, record)
        try:
            lease = await self._leases.replace_namespaced_lease(name, namespace, body)
        except ApiException as exc:
            raise _error(exc, "update", namespace, name) from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _unreachable(exc, "update", namespace, name) from exc
        return _record(lease)


def _lease(namespace: str, name: str, record: LeaseRecord) -> client.V1Lease:
    return client.V1Lease(
        api_version="coordination.k8s.io/v1",
        kind="Lease",
        metadata=client.V1ObjectMeta(
            name=name, namespace=namespace, resource_version=record.resource_version
        ),
        spec=client.V1LeaseSpec(
            holder_identity=record.holder_identity,
            lease_duration_seconds=record.lease_duration_seconds,
            acquire_time=record.acquire_time,
            renew_time=record.renew_time,
            lease_transitions=record.lease_transitions,
        ),
    )


def _record(lease: Any) -> LeaseRecord:
    # The API server takes a Lease without spec (a bare manifest, another tool): nobody holds it.
    spec = lease.spec if lease.spec is not None else client.V1LeaseSpec()
    return LeaseRecord(
        holder_identity=spec.holder_identity or "",
        lease_duration_seconds=int(spec.lease_duration_seconds or 0),
        acquire_time=spec.acquire_time,
        renew_time=spec.renew_time,
        lease_transitions=int(spec.lease_transitions or 0),
        resource_version=lease.metadata.resource_version,
    )


def _record_of(data: Any) -> LeaseRecord:
    """A Lease as JSON → its record; a field of the wrong type, or a time that does not parse,
    reads as absent (nobody holds a lease without a holder; its age is timed from our read)."""
    lease = _mapping(data)
    spec, meta = _mapping(lease.get("spec")), _mapping(lease.get("metadata"))
    holder, version = spec.get("holderIdentity"), meta.get("resourceVersion")
    return LeaseRecord(
        holder_identity=holder if isinstance(holder, str) else "",
        lease_duration_seconds=_int32(spec.get("leaseDurationSeconds")),
        acquire_time=_time(spec.get("acquireTime")),
        renew_time=_time(spec.get("renewTime")),
        lease_transitions=max(_int32(spec.get("leaseTransitions")), 0),
        resource_version=version if isinstance(version, str) else None,
    )


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int32(value: object) -> int:
    # The API server's fields are int32: anything else, written back, would be refused forever.
    if isinstance(value, int) and not isinstance(value, bool) and -(2**31) <= value < 2**31 - 1:
        return value
    return 0


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _error(
    exc: ApiException, verb: str, namespace: str, name: str
) -> LeaseConflict | LeaseApiError:
    # 409: a stale resourceVersion on update, or AlreadyExists on create; both a lost race.
    if exc.status == 409:
        return LeaseConflict(f"{verb} lease {namespace}/{name}: conflict")
    hint = " (check the Role granting get/create/update on leases)" if exc.status == 403 else ""
    return LeaseApiError(f"{verb} lease {namespace}/{name}: HTTP {exc.status} {exc.reason}{hint}")


def _unreachable(exc: BaseException, verb: str, namespace: str, name: str) -> LeaseApiError:
    return LeaseApiError(
        f"{verb} lease {namespace}/{name}: API server unreachable ({type(exc).__name__}: {exc})"
    )


def elector_for(
    settings: LeaderSettings,
    api_client: client.ApiClient,
    registry: CollectorRegistry,
    *,
    on_started_leading: Callable[[], None] | None = None,
    on_stopped_leading: Callable[[], None] | None = None,
) -> LeaderElector | None:
    """The daemon's elector on the cluster's Leases, with ``kg_exporter_leader`` registered in
    ``registry``; None when leader election is off. Raises SettingsError for inconsistent timing.

    With election off the gauge reads 1: the single replica does the work, so the "no leader"
    alert and the dashboard mean the same thing for one replica as for several.
    """
    gauge = leader_gauge(registry)
    if not settings.enabled:
        gauge.set(1)
        return None
    return LeaderElector(
        election_config(settings),
        KubeLeaseApi(api_client),
        gauge=gauge,
        on_started_leading=on_started_leading,
        on_stopped_leading=on_stopped_leading,
    )
