"""The kubernetes_asyncio adapter against the fake API server: what it returns and raises."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from kubernetes_asyncio import config

from kg_exporter.leader import (
    Attempt,
    ElectionConfig,
    LeaderElector,
    LeaseApiError,
    LeaseConflict,
    LeaseRecord,
)
from kg_exporter.leader.kube import KubeLeaseApi
from tests.fakekube import FakeKube

pytest_plugins = ["tests.fakekube.fixtures"]

WHEN = datetime(2025, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture
async def leases(fake_kube: FakeKube) -> AsyncIterator[KubeLeaseApi]:
    api = await config.new_client_from_config(config_file=str(fake_kube.kubeconfig_path))
    async with api:
        yield KubeLeaseApi(api)


async def test_create_get_replace_round_trip(leases: KubeLeaseApi) -> None:
    assert await leases.get("default", "kg") is None
    created = await leases.create("default", "kg", LeaseRecord("a", 15, WHEN, WHEN, 0))
    assert created.resource_version and created.holder_identity == "a"
    read = await leases.get("default", "kg")
    assert read == created and read.renew_time == WHEN  # microseconds survive (MicroTime)
    renewed = await leases.replace("default", "kg", replace(read, lease_transitions=3))
    assert renewed.lease_transitions == 3
    assert renewed.resource_version != created.resource_version


async def test_stale_writes_and_duplicate_creates_are_conflicts(leases: KubeLeaseApi) -> None:
    first = await leases.create("default", "kg", LeaseRecord("a", 15, WHEN, WHEN, 0))
    with pytest.raises(LeaseConflict):
        await leases.create("default", "kg", LeaseRecord("b", 15, WHEN, WHEN, 0))
    await leases.replace("default", "kg", replace(first, holder_identity="b"))
    with pytest.raises(LeaseConflict):
        await leases.replace("default", "kg", replace(first, holder_identity="c"))


async def test_an_unreachable_or_refusing_server_is_a_lease_api_error(
    fake_kube: FakeKube, leases: KubeLeaseApi
) -> None:
    fake_kube.fail_next_requests(1, status=403)
    with pytest.raises(LeaseApiError, match="Role"):
        await leases.get("default", "kg")
    fake_kube.set_unavailable(True, refuse=True)
    with pytest.raises(LeaseApiError, match=r"unreachable|503"):
        await leases.get("default", "kg")


async def test_two_electors_on_one_server_elect_one(leases: KubeLeaseApi) -> None:
    def elector(identity: str) -> LeaderElector:
        return LeaderElector(ElectionConfig("kg", "default", identity), leases)

    a, b = elector("a"), elector("b")
    assert await a.try_acquire_or_renew() is Attempt.HELD
    assert await b.try_acquire_or_renew() is Attempt.HELD_BY_OTHER
    assert await a.try_acquire_or_renew() is Attempt.HELD


@pytest.mark.parametrize(
    "spec",
    [None, {}, {"holderIdentity": None, "leaseDurationSeconds": None}],
    ids=["no spec", "empty spec", "null fields"],
)
async def test_a_lease_someone_else_left_without_a_spec_is_free_to_take(
    fake_kube: FakeKube, leases: KubeLeaseApi, spec: dict[str, object] | None
) -> None:
    # The API server accepts a Lease without spec (kubectl apply of a bare Lease, another tool).
    lease: dict[str, object] = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "kg", "namespace": "default"},
    }
    if spec is not None:
        lease["spec"] = spec
    fake_kube.create(lease)
    read = await leases.get("default", "kg")
    assert read is not None and read.holder_identity == "" and read.renew_time is None
    elector = LeaderElector(ElectionConfig("kg", "default", "a"), leases)
    assert await elector.try_acquire_or_renew() is Attempt.HELD


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"leaseDurationSeconds": "abc", "holderIdentity": "other"}, Attempt.HELD),
        ({"leaseTransitions": "x"}, Attempt.HELD),
        ({"leaseTransitions": 2**70}, Attempt.HELD),
        ({"renewTime": 12345, "holderIdentity": "other", "leaseDurationSeconds": 15}, Attempt.HELD_BY_OTHER),
        ({"renewTime": "garbage", "holderIdentity": "other", "leaseDurationSeconds": 15}, Attempt.HELD_BY_OTHER),
        ({"acquireTime": "9999-99-99T00:00:00Z"}, Attempt.HELD),
        ({"holderIdentity": ["a"], "leaseDurationSeconds": 15}, Attempt.HELD),
        ("a string", Attempt.HELD),
    ],
)  # fmt: skip
async def test_a_lease_with_wrong_typed_fields_is_read_not_raised(
    spec: object, expected: Attempt
) -> None:
    """Before, the client's models raised ValueError/TypeError out of the elector for the first
    three and the fourth, and LeaseApiError on every read for the fifth and sixth: such a Lease
    could never be taken. A wrong-typed field now reads as absent (no holder: free; a holder with
    a wrong duration: free; a holder with a valid duration: held until it expires by our clock)."""
    with FakeKube(validate=False) as fake:
        fake.create(
            {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": "kg", "namespace": "default"},
                "spec": spec,
            }
        )
        api = await config.new_client_from_config(config_file=str(fake.kubeconfig_path))
        async with api:
            elector = LeaderElector(ElectionConfig("kg", "default", "a"), KubeLeaseApi(api))
            assert await elector.try_acquire_or_renew() is expected
            if expected is Attempt.HELD:
                read = await KubeLeaseApi(api).get("default", "kg")
                assert read is not None and read.holder_identity == "a"
