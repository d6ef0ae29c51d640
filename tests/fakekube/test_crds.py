"""Custom resources in the fake API server, through the real kubernetes_asyncio client: a CRD
created or deleted at run time changes discovery and the endpoints that exist; RBAC-like 403s."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from kubernetes_asyncio import client, config, watch
from kubernetes_asyncio.client.exceptions import ApiException

from tests.fakekube import FakeKube, KubeError
from tests.fakekube.crds import OPERATOR_CRDS, definition
from tests.fakekube.resources import version_priority

pytest_plugins = ["tests.fakekube.fixtures"]

Obj = dict[str, Any]
GROUP = "jobset.x-k8s.io"


@pytest.fixture
async def api(fake_kube: FakeKube) -> AsyncIterator[client.ApiClient]:
    api_client = await config.new_client_from_config(config_file=str(fake_kube.kubeconfig_path))
    async with api_client:
        yield api_client


def jobset(name: str, version: str = "v1alpha2", ns: str = "default") -> Obj:
    return {
        "apiVersion": f"{GROUP}/{version}",
        "kind": "JobSet",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"replicatedJobs": [{"name": "workers", "replicas": 2}]},
    }


async def groups(api: client.ApiClient) -> dict[str, tuple[list[str], str]]:
    listing = await client.ApisApi(api).get_api_versions()
    return {
        g.name: ([v.version for v in g.versions], g.preferred_version.version)
        for g in listing.groups
    }


async def test_a_crd_makes_its_group_and_resource_discoverable_and_served(
    fake_kube: FakeKube, api: client.ApiClient
) -> None:
    objects = client.CustomObjectsApi(api)
    assert GROUP not in await groups(api)
    with pytest.raises(ApiException) as absent:
        await objects.list_cluster_custom_object(GROUP, "v1alpha2", "jobsets")
    assert absent.value.status == 404

    crd = definition(GROUP, "JobSet", versions=("v1alpha2", "v1alpha1"), short_names=("js",))
    created = await client.ApiextensionsV1Api(api).create_custom_resource_definition(crd)
    assert created.metadata.name == "jobsets.jobset.x-k8s.io"
    stored = await client.ApiextensionsV1Api(api).read_custom_resource_definition(
        "jobsets.jobset.x-k8s.io"
    )
    conditions = {c.type: c.status for c in stored.status.conditions}
    assert conditions == {"NamesAccepted": "True", "Established": "True"}
    assert stored.status.accepted_names.plural == "jobsets"
    assert stored.status.stored_versions == ["v1alpha2"]

    assert (await groups(api))[GROUP] == (["v1alpha2", "v1alpha1"], "v1alpha2")
    resources = await client.CustomObjectsApi(api).get_api_resources(GROUP, "v1alpha1")
    by_name = {r.name: r for r in resources.resources}
    assert set(by_name) == {"jobsets", "jobsets/status"}
    assert by_name["jobsets"].kind == "JobSet"
    assert by_name["jobsets"].namespaced is True
    assert by_name["jobsets"].short_names == ["js"]
    assert set(by_name["jobsets"].verbs) >= {"get", "list", "watch"}

    await objects.create_namespaced_custom_object(
        GROUP, "v1alpha1", "default", "jobsets", jobset("a", "v1alpha1")
    )
    # One set of objects, seen at every served version with that version's apiVersion.
    listing = await objects.list_cluster_custom_object(GROUP, "v1alpha2", "jobsets")
    assert listing["kind"] == "JobSetList"
    assert [i["metadata"]["name"] for i in listing["items"]] == ["a"]
    got = await objects.get_namespaced_custom_object(GROUP, "v1alpha2", "default", "jobsets", "a")
    assert got["apiVersion"] == f"{GROUP}/v1alpha2"
    assert got["metadata"]["uid"] and got["metadata"]["resourceVersion"]
    # The status subresource: a controller's status write keeps the spec, bumps no generation.
    patched = fake_kube.patch_status("JobSet", "default", "a", {"restarts": 0})
    assert patched["status"] == {"restarts": 0} and patched["metadata"]["generation"] == 1


async def test_a_watch_sees_writes_at_any_version_and_ends_when_the_crd_is_deleted(
    fake_kube: FakeKube, api: client.ApiClient
) -> None:
    fake_kube.create(definition(GROUP, "JobSet", versions=("v1alpha2", "v1alpha1")))
    fake_kube.create(jobset("a"))
    objects = client.CustomObjectsApi(api)
    seen: list[tuple[str, str, str]] = []
    opened = asyncio.Event()
    w = watch.Watch()

    async def follow() -> None:
        async for ev in w.stream(
            objects.list_cluster_custom_object, GROUP, "v1alpha1", "jobsets", timeout_seconds=30
        ):
            obj = ev["raw_object"]
            seen.append((ev["type"], obj["metadata"]["name"], obj["apiVersion"]))
            opened.set()

    task = asyncio.create_task(follow())
    await asyncio.wait_for(opened.wait(), 10)  # the initial ADDED: the watch is open
    fake_kube.create(jobset("b", "v1alpha2"))
    fake_kube.delete("CustomResourceDefinition", None, "jobsets.jobset.x-k8s.io")
    await asyncio.wait_for(task, 10)  # the stream ends with the resource
    v1 = f"{GROUP}/v1alpha1"
    assert seen == [
        ("ADDED", "a", v1),
        ("ADDED", "b", v1),
        ("DELETED", "a", v1),
        ("DELETED", "b", v1),
    ]
    assert GROUP not in await groups(api)
    with pytest.raises(ApiException) as gone:
        await objects.list_cluster_custom_object(GROUP, "v1alpha1", "jobsets")
    assert gone.value.status == 404
    # Installed again: served again, empty.
    fake_kube.create(definition(GROUP, "JobSet", versions=("v1alpha2",)))
    listing = await objects.list_cluster_custom_object(GROUP, "v1alpha2", "jobsets")
    assert listing["items"] == []


async def test_a_version_no_longer_served_goes_away_alone(
    fake_kube: FakeKube, api: client.ApiClient
) -> None:
    crd = fake_kube.create(definition(GROUP, "JobSet", versions=("v1alpha2", "v1alpha1")))
    crd["spec"]["versions"][1]["served"] = False
    fake_kube.update({**crd, "metadata": {"name": crd["metadata"]["name"]}})
    assert (await groups(api))[GROUP] == (["v1alpha2"], "v1alpha2")
    objects = client.CustomObjectsApi(api)
    await objects.list_cluster_custom_object(GROUP, "v1alpha2", "jobsets")
    with pytest.raises(ApiException) as gone:
        await objects.list_cluster_custom_object(GROUP, "v1alpha1", "jobsets")
    assert gone.value.status == 404


def test_crds_the_apiserver_refuses_are_refused(fake_kube: FakeKube) -> None:
    wrong_name = definition(GROUP, "JobSet")
    wrong_name["metadata"]["name"] = "jobsets"
    with pytest.raises(KubeError) as refused:
        fake_kube.create(wrong_name)
    assert refused.value.code == 422
    assert 'must be spec.names.plural+"."+spec.group' in refused.value.message
    two_stored = definition(GROUP, "JobSet", versions=("v1", "v2"))
    two_stored["spec"]["versions"][1]["storage"] = True
    with pytest.raises(KubeError, match="exactly one version marked as storage"):
        fake_kube.create(two_stored)
    fake_kube.create(definition(GROUP, "JobSet"))
    with pytest.raises(KubeError, match="already in use"):
        fake_kube.create(definition(GROUP, "JobSet", plural="jobsetz"))
    with pytest.raises(LookupError):  # an object of a kind nobody defined
        fake_kube.create({**jobset("x"), "apiVersion": f"{GROUP}/v9"})


async def test_forbid_answers_403_with_the_apiservers_words_until_allowed(
    fake_kube: FakeKube, api: client.ApiClient
) -> None:
    fake_kube.create(definition(GROUP, "JobSet", versions=("v1alpha2",)))
    fake_kube.forbid("jobsets")
    objects = client.CustomObjectsApi(api)
    with pytest.raises(ApiException) as cluster:
        await objects.list_cluster_custom_object(GROUP, "v1alpha2", "jobsets")
    with pytest.raises(ApiException) as namespaced:
        await objects.list_namespaced_custom_object(GROUP, "v1alpha2", "ns1", "jobsets")
    status: Obj = json.loads(cluster.value.body)
    assert (cluster.value.status, status["reason"], status["code"]) == (403, "Forbidden", 403)
    assert status["details"] == {"group": GROUP, "kind": "jobsets"}
    assert status["message"] == (
        'jobsets.jobset.x-k8s.io is forbidden: User "system:serviceaccount:kg-exporter:'
        'kg-exporter" cannot list resource "jobsets" in API group "jobset.x-k8s.io" at the '
        "cluster scope"
    )
    assert json.loads(namespaced.value.body)["message"].endswith('in the namespace "ns1"')
    # Other resources, and discovery, are untouched.
    await client.AppsV1Api(api).list_deployment_for_all_namespaces()
    assert GROUP in await groups(api)
    fake_kube.allow("jobsets")
    await objects.list_cluster_custom_object(GROUP, "v1alpha2", "jobsets")


def test_version_priority_is_kubernetes_order() -> None:
    versions = ["v1alpha1", "foo", "v2", "v1beta1", "v1", "v1beta2", "v11alpha2", "v1alpha2"]
    assert sorted(versions, key=version_priority) == [
        "v2", "v1", "v1beta2", "v1beta1", "v11alpha2", "v1alpha2", "v1alpha1", "foo"
    ]  # fmt: skip


async def test_the_operators_crds_serve_their_kinds_and_daemonsets_cronjobs_are_built_in(
    fake_kube: FakeKube, api: client.ApiClient
) -> None:
    plurals = {
        "JobSet": ("jobset.x-k8s.io", "v1alpha2", "jobsets"),
        "MetricSet": ("flux-framework.org", "v1alpha2", "metricsets"),
        "MiniCluster": ("flux-framework.org", "v1alpha2", "miniclusters"),
        "Ensemble": ("ensemble.flux-framework.org", "v1alpha1", "ensembles"),
    }
    assert set(OPERATOR_CRDS) == set(plurals)
    for crd in OPERATOR_CRDS.values():
        fake_kube.create(definition(**crd))
    objects = client.CustomObjectsApi(api)
    for group, version, plural in plurals.values():
        listing = await objects.list_cluster_custom_object(group, version, plural)
        assert listing["items"] == []
    flux = await objects.get_api_resources("flux-framework.org", "v1alpha2")
    assert {r.name for r in flux.resources} >= {"metricsets", "miniclusters"}

    template = {"spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    fake_kube.create(
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": "agent", "namespace": "default"},
            "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": template},
        }
    )
    fake_kube.create(
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": "nightly", "namespace": "default"},
            "spec": {"schedule": "0 2 * * *", "jobTemplate": {"spec": {"template": template}}},
        }
    )
    daemonsets = await client.AppsV1Api(api).list_daemon_set_for_all_namespaces()
    cronjobs = await client.BatchV1Api(api).list_cron_job_for_all_namespaces()
    assert [d.metadata.name for d in daemonsets.items] == ["agent"]
    assert [c.spec.schedule for c in cronjobs.items] == ["0 2 * * *"]
