"""The fake API server, proven with the real kubernetes_asyncio client over HTTP.

Each test pins a behaviour of the real apiserver that the daemon's watch loop depends on, so a
test that passes here means the same client code is exercised as against a cluster.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from kubernetes_asyncio import client, config, watch
from kubernetes_asyncio.client.exceptions import ApiException

from tests.fakekube import FakeKube, KubeError
from tests.fakekube.patch import json_patch, merge_patch
from tests.fakekube.selection import Selector

pytest_plugins = ["tests.fakekube.fixtures"]

REPO = Path(__file__).resolve().parents[2]
Obj = dict[str, Any]


def deployment(name: str, ns: str = "default", labels: dict[str, str] | None = None) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": labels or {}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]},
            },
        },
    }


@pytest.fixture
async def api(fake_kube: FakeKube) -> AsyncIterator[client.ApiClient]:
    """A real client configured from the fake's kubeconfig file, as the daemon would be."""
    api_client = await config.new_client_from_config(config_file=str(fake_kube.kubeconfig_path))
    async with api_client:
        yield api_client


async def collect(
    stream: watch.Watch, n: int, *, skip_bookmarks: bool = True
) -> list[tuple[str, str, int]]:
    """The first ``n`` events as (type, name, resourceVersion)."""
    out: list[tuple[str, str, int]] = []
    async for ev in stream:
        if skip_bookmarks and ev["type"] == "BOOKMARK":
            continue
        meta = ev["raw_object"]["metadata"]
        out.append((ev["type"], meta.get("name", ""), int(meta["resourceVersion"])))
        if len(out) == n:
            stream.stop()
            break
    await stream.close()
    return out


def status_of(exc: ApiException) -> Obj:
    body: Obj = json.loads(exc.body or b"{}")
    return body


# -- discovery, config, auth ---------------------------------------------------------------


async def test_kubeconfig_loads_plain_http_and_version_answers(
    fake_kube: FakeKube, api: client.ApiClient
) -> None:
    cfg = client.Configuration()
    await config.load_kube_config(
        config_file=str(fake_kube.kubeconfig_path), client_configuration=cfg
    )
    assert cfg.host == fake_kube.url
    assert cfg.api_key["BearerToken"] == "Bearer fake-token"

    version = await client.VersionApi(api).get_code()  # GET /version/ (trailing slash)
    assert version.major == "1"
    groups = await client.ApisApi(api).get_api_versions()
    assert {g.name for g in groups.groups} == {
        "apps",
        "batch",
        "coordination.k8s.io",
        "apiextensions.k8s.io",
    }
    assert (await client.CoreApi(api).get_api_versions()).versions == ["v1"]
    apps = await client.AppsV1Api(api).get_api_resources()
    names = {r.name for r in apps.resources}
    assert {"deployments", "deployments/status", "deployments/scale", "statefulsets"} <= names
    core = await client.CoreV1Api(api).get_api_resources()
    assert {r.name: r.namespaced for r in core.resources}["nodes"] is False


async def test_wrong_token_is_401(fake_kube: FakeKube) -> None:
    cfg = client.Configuration(host=fake_kube.url, api_key={"BearerToken": "Bearer nope"})
    async with client.ApiClient(cfg) as bad:
        with pytest.raises(ApiException) as err:
            await client.AppsV1Api(bad).list_deployment_for_all_namespaces()
    assert err.value.status == 401


# -- writes: metadata stamping, generation, errors -------------------------------------------


async def test_writes_stamp_metadata_and_status_does_not_bump_generation(
    fake_kube: FakeKube, api: client.ApiClient
) -> None:
    apps = client.AppsV1Api(api)
    body = deployment("web")
    body["status"] = {"replicas": 9}  # the apiserver drops status on create
    created = await apps.create_namespaced_deployment("default", body)
    meta = created.metadata
    assert meta.uid and meta.creation_timestamp and meta.generation == 1
    assert created.status.replicas is None
    rv0 = int(meta.resource_version)

    scaled = await apps.patch_namespaced_deployment("web", "default", {"spec": {"replicas": 3}})
    assert scaled.metadata.generation == 2 and int(scaled.metadata.resource_version) > rv0

    status = {"status": {"replicas": 3, "readyReplicas": 3, "observedGeneration": 2}}
    updated = await apps.patch_namespaced_deployment_status("web", "default", status)
    assert updated.metadata.generation == 2
    assert updated.status.ready_replicas == 3
    assert int(updated.metadata.resource_version) > int(scaled.metadata.resource_version)

    # The main endpoint ignores status; /status ignores spec.
    ignored = await apps.patch_namespaced_deployment("web", "default", {"status": {"replicas": 0}})
    assert ignored.status.replicas == 3 and ignored.metadata.resource_version == (
        updated.metadata.resource_version
    )  # a no-op write: no new resourceVersion

    fake_kube.patch_status("Deployment", "default", "web", {"availableReplicas": 3})
    after = fake_kube.get("deployments", "default", "web")
    assert after is not None and after["metadata"]["generation"] == 2
    assert after["status"]["availableReplicas"] == 3 and after["status"]["readyReplicas"] == 3

    # One counter across kinds: a pod created now has a higher resourceVersion.
    pod = await client.CoreV1Api(api).create_namespaced_pod(
        "default", {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]}}
    )
    assert int(pod.metadata.resource_version) > int(after["metadata"]["resourceVersion"])
    assert pod.status.phase == "Pending"


async def test_missing_and_duplicate_objects_answer_status(
    fake_kube: FakeKube, api: client.ApiClient
) -> None:
    apps = client.AppsV1Api(api)
    with pytest.raises(ApiException) as err:
        await apps.read_namespaced_deployment("nope", "default")
    assert err.value.status == 404
    assert status_of(err.value) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'deployments.apps "nope" not found',
        "reason": "NotFound",
        "details": {"name": "nope", "kind": "deployments", "group": "apps"},
        "code": 404,
    }
    await apps.create_namespaced_deployment("default", deployment("web"))
    with pytest.raises(ApiException) as err:
        await apps.create_namespaced_deployment("default", deployment("web"))
    assert (err.value.status, status_of(err.value)["reason"]) == (409, "AlreadyExists")
    with pytest.raises(KubeError) as kerr:
        fake_kube.delete("Deployment", "default", "nope")
    assert kerr.value.code == 404


async def test_lease_update_with_stale_resource_version_is_409(api: client.ApiClient) -> None:
    leases = client.CoordinationV1Api(api)
    lease = await leases.create_namespaced_lease(
        "default", {"metadata": {"name": "leader"}, "spec": {"holderIdentity": "a"}}
    )
    stale = lease.metadata.resource_version
    lease.spec.holder_identity = "b"
    won = await leases.replace_namespaced_lease("leader", "default", lease)
    assert won.spec.holder_identity == "b" and won.metadata.resource_version != stale

    lease.spec.holder_identity = "c"  # still carries the stale resourceVersion
    with pytest.raises(ApiException) as err:
        await leases.replace_namespaced_lease("leader", "default", lease)
    assert err.value.status == 409 and status_of(err.value)["reason"] == "Conflict"
    assert (await leases.read_namespaced_lease("leader", "default")).spec.holder_identity == "b"


async def test_other_kinds_and_subresources(fake_kube: FakeKube, api: client.ApiClient) -> None:
    core, apps, batch = client.CoreV1Api(api), client.AppsV1Api(api), client.BatchV1Api(api)
    fake_kube.create({"kind": "Node", "metadata": {"name": "n1"}, "status": {"capacity": {}}})
    node = await core.patch_node_status("n1", {"status": {"capacity": {"cpu": "4"}}})
    assert node.status.capacity == {"cpu": "4"} and node.metadata.namespace is None
    assert [n.metadata.name for n in (await core.list_node()).items] == ["n1"]

    template = deployment("x")["spec"]["template"]
    job = {"kind": "Job", "metadata": {"name": "j", "namespace": "b"}, "spec": {}}
    with pytest.raises(KubeError) as invalid:  # the client could not read it back
        fake_kube.create(job)
    assert invalid.value.code == 422 and "template" in invalid.value.message
    job["spec"] = {"template": template}
    fake_kube.create(job)
    got = await batch.patch_namespaced_job_status("j", "b", {"status": {"succeeded": 1}})
    assert got.status.succeeded == 1 and got.metadata.generation == 1
    sts = {**deployment("s"), "kind": "StatefulSet"}
    fake_kube.create(sts)
    assert len((await apps.list_stateful_set_for_all_namespaces()).items) == 1

    await apps.create_namespaced_deployment("default", deployment("web"))
    scale = await apps.patch_namespaced_deployment_scale(
        "web", "default", {"spec": {"replicas": 5}}
    )
    assert scale.spec.replicas == 5
    assert (await apps.read_namespaced_deployment("web", "default")).spec.replicas == 5
    # A list body is sent as application/json-patch+json.
    patched = await apps.patch_namespaced_deployment(
        "web", "default", [{"op": "add", "path": "/metadata/labels/tier", "value": "fe"}]
    )
    assert patched.metadata.labels == {"tier": "fe"}

    # A finalizer holds a deletion: deletionTimestamp first, gone once it is removed.
    fake_kube.create({"kind": "Pod", "metadata": {"name": "p", "finalizers": ["x/y"]}})
    await core.delete_namespaced_pod("p", "default")
    pod = fake_kube.get("Pod", "default", "p")
    assert pod is not None and pod["metadata"]["deletionTimestamp"]
    pod["metadata"]["finalizers"] = []
    fake_kube.update(pod)
    assert fake_kube.get("Pod", "default", "p") is None


# -- lists ---------------------------------------------------------------------------------


async def test_paged_list_returns_every_object_once_from_one_snapshot(
    fake_kube: FakeKube, api: client.ApiClient
) -> None:
    apps = client.AppsV1Api(api)
    expected = set()
    for i in range(23):
        ns = "a" if i % 2 else "b"
        fake_kube.create(deployment(f"d{i:02}", ns))
        expected.add((ns, f"d{i:02}"))

    seen: list[tuple[str, str]] = []
    versions = set()
    token = ""  # the client's stubs type _continue as str; "" means the first page
    while True:
        page = await apps.list_deployment_for_all_namespaces(limit=5, _continue=token)
        seen += [(d.metadata.namespace, d.metadata.name) for d in page.items]
        versions.add(page.metadata.resource_version)
        # Writes between pages must not show up in, or vanish from, this listing.
        fake_kube.create(deployment(f"late{len(seen)}", "a"))
        fake_kube.delete("Deployment", *seen[-1])
        token = page.metadata._continue
        if not token:
            break
    assert len(seen) == len(set(seen)) == 23 and set(seen) == expected
    assert len(versions) == 1
    # Items carry no kind/apiVersion, as from the real apiserver.
    assert page.items[0].kind is None

    ns_page = await apps.list_namespaced_deployment("a", limit=100)
    assert all(d.metadata.namespace == "a" for d in ns_page.items)
    assert ns_page.metadata._continue is None

    first = await apps.list_deployment_for_all_namespaces(limit=2)
    fake_kube.create(deployment("after-first-page"))
    fake_kube.compact()  # etcd keeps the compaction revision itself, so one more write first
    with pytest.raises(ApiException) as err:
        await apps.list_deployment_for_all_namespaces(limit=2, _continue=first.metadata._continue)
    assert err.value.status == 410


LABELLED = {
    "web": {"app": "web", "tier": "fe"},
    "api": {"app": "api", "tier": "be"},
    "db": {"app": "db", "tier": "data"},
    "bare": {},
}


@pytest.mark.parametrize(
    ("selector", "names"),
    [
        ("app=web", {"web"}),
        ("app==web", {"web"}),
        ("app!=web", {"api", "db", "bare"}),
        ("tier in (fe,be)", {"web", "api"}),
        ("tier notin (fe)", {"api", "db", "bare"}),
        ("app", {"web", "api", "db"}),
        ("!app", {"bare"}),
        ("app,tier!=data", {"web", "api"}),
        ("app in (web, db),tier=data", {"db"}),
    ],
)
async def test_label_selector_filters_lists(
    fake_kube: FakeKube, api: client.ApiClient, selector: str, names: set[str]
) -> None:
    for name, labels in LABELLED.items():
        fake_kube.create(deployment(name, labels=labels))
    got = await client.AppsV1Api(api).list_deployment_for_all_namespaces(label_selector=selector)
    assert {d.metadata.name for d in got.items} == names


async def test_field_selector_and_bad_selectors(fake_kube: FakeKube, api: client.ApiClient) -> None:
    apps = client.AppsV1Api(api)
    fake_kube.create(deployment("x", "a"))
    fake_kube.create(deployment("x", "b"))
    fake_kube.create(deployment("y", "b"))
    by_name = await apps.list_deployment_for_all_namespaces(field_selector="metadata.name=x")
    assert sorted(d.metadata.namespace for d in by_name.items) == ["a", "b"]
    both = "metadata.namespace=b,metadata.name!=x"
    assert [
        d.metadata.name
        for d in (await apps.list_deployment_for_all_namespaces(field_selector=both)).items
    ] == ["y"]
    for bad in ("app in (x", "a=b=c", "=x", "a,"):
        with pytest.raises(ApiException) as err:
            await apps.list_deployment_for_all_namespaces(label_selector=bad)
        assert err.value.status == 400, bad


# -- watches -------------------------------------------------------------------------------


async def test_watch_from_list_version_sees_only_later_changes_in_order(
    fake_kube: FakeKube, api: client.ApiClient
) -> None:
    apps = client.AppsV1Api(api)
    for name in ("a", "b", "c"):
        fake_kube.create(deployment(name))
    listed = await apps.list_deployment_for_all_namespaces()
    fake_kube.create(deployment("d"))
    fake_kube.scale("Deployment", "default", "a", 2)
    fake_kube.delete("Deployment", "default", "b")
    fake_kube.create({"kind": "Pod", "metadata": {"name": "not-a-deployment"}})

    stream = watch.Watch().stream(
        apps.list_deployment_for_all_namespaces,
        resource_version=listed.metadata.resource_version,
        timeout_seconds=5,
    )
    events = await collect(stream, 3)
    assert [(t, n) for t, n, _ in events] == [("ADDED", "d"), ("MODIFIED", "a"), ("DELETED", "b")]
    rvs = [rv for *_, rv in events]
    assert rvs == sorted(rvs) and rvs[0] > int(listed.metadata.resource_version)

    # No resourceVersion: the current state first, as ADDED events.
    fresh = await collect(
        watch.Watch().stream(apps.list_deployment_for_all_namespaces, timeout_seconds=5), 3
    )
    assert sorted((t, n) for t, n, _ in fresh) == [("ADDED", "a"), ("ADDED", "c"), ("ADDED", "d")]
    assert fake_kube.request_count("watch", "/apis/apps/v1/deployments") == 2


async def test_label_selector_watch_sees_objects_enter_and_leave(
    fake_kube: FakeKube, api: client.ApiClient
) -> None:
    apps = client.AppsV1Api(api)
    fake_kube.create(deployment("w", labels={"team": "x"}))
    rv = str(fake_kube.resource_version)
    fake_kube.create(deployment("other", labels={"team": "y"}))
    fake_kube.patch("Deployment", "default", "w", {"metadata": {"labels": {"team": "y"}}})
    fake_kube.patch("Deployment", "default", "w", {"metadata": {"labels": {"team": "x"}}})
    stream = watch.Watch().stream(
        apps.list_namespaced_deployment,
        "default",
        resource_version=rv,
        label_selector="team=x",
        timeout_seconds=5,
    )
    events = await collect(stream, 2)
    assert [(t, n) for t, n, _ in events] == [("DELETED", "w"), ("ADDED", "w")]


async def test_bookmarks_carry_only_the_resource_version(api: client.ApiClient) -> None:
    with FakeKube(bookmark_interval=0.1) as fake:
        api_client = await config.new_client_from_config(config_file=str(fake.kubeconfig_path))
        async with api_client:
            apps = client.AppsV1Api(api_client)
            fake.create(deployment("a"))
            w = watch.Watch()
            stream = w.stream(
                apps.list_deployment_for_all_namespaces,
                resource_version=str(fake.resource_version),
                allow_watch_bookmarks=True,
                timeout_seconds=5,
            )
            bookmarks = []
            async for ev in stream:
                assert ev["type"] == "BOOKMARK"
                bookmarks.append(ev["raw_object"])
                if len(bookmarks) == 1:
                    fake.create({"kind": "Pod", "metadata": {"name": "p"}})  # rv moves on
                if len(bookmarks) == 3:
                    w.stop()
            await w.close()
            assert bookmarks[0] == {
                "kind": "Deployment",
                "apiVersion": "apps/v1",
                "metadata": {"resourceVersion": "1"},
            }
            assert bookmarks[-1]["metadata"]["resourceVersion"] == "2"
            assert w.resource_version == "2"  # the client resumes from the bookmark
            assert fake.events_sent_by_type["BOOKMARK"] == 3 == fake.events_sent


async def test_compacted_version_is_410_from_watch(
    fake_kube: FakeKube, api: client.ApiClient
) -> None:
    apps = client.AppsV1Api(api)
    fake_kube.create(deployment("a"))
    old = str(fake_kube.resource_version)
    fake_kube.scale("Deployment", "default", "a", 2)
    fake_kube.compact()
    with pytest.raises(ApiException) as err:
        await collect(
            watch.Watch().stream(
                apps.list_deployment_for_all_namespaces, resource_version=old, timeout_seconds=5
            ),
            1,
        )
    assert err.value.status == 410
    assert err.value.reason == f"Expired: too old resource version: {old} (2)"

    # The current version is still fine after compaction.
    now = str(fake_kube.resource_version)
    fake_kube.scale("Deployment", "default", "a", 3)
    stream = watch.Watch().stream(
        apps.list_deployment_for_all_namespaces, resource_version=now, timeout_seconds=5
    )
    assert [t for t, *_ in await collect(stream, 1)] == ["MODIFIED"]

    # Without timeout_seconds, Watch retries a 410 once (same version) and then raises.
    before = fake_kube.request_count("watch")
    with pytest.raises(ApiException) as err:
        await collect(
            watch.Watch().stream(apps.list_deployment_for_all_namespaces, resource_version=old), 1
        )
    assert err.value.status == 410 and fake_kube.request_count("watch") - before == 2

    # A forced 410 works even for a version that is not compacted; a kind filter spares others.
    fake_kube.fail_next_watches(1, kind="Pod")
    spared = watch.Watch().stream(
        apps.list_deployment_for_all_namespaces, resource_version=now, timeout_seconds=5
    )
    assert [t for t, *_ in await collect(spared, 1)] == ["MODIFIED"]
    with pytest.raises(ApiException) as err:
        pods = client.CoreV1Api(api).list_pod_for_all_namespaces
        await collect(watch.Watch().stream(pods, timeout_seconds=5), 1)
    assert err.value.status == 410
    fake_kube.fail_next_watches(1, status=500)
    with pytest.raises(ApiException) as err:  # not 410: an HTTP error, not an ERROR event
        await collect(
            watch.Watch().stream(
                apps.list_deployment_for_all_namespaces, resource_version=now, timeout_seconds=5
            ),
            1,
        )
    assert err.value.status == 500


async def test_history_limit_compacts_by_itself(api: client.ApiClient) -> None:
    with FakeKube(history_limit=3) as fake:
        api_client = await config.new_client_from_config(config_file=str(fake.kubeconfig_path))
        async with api_client:
            for i in range(5):
                fake.create(deployment(f"d{i}"))
            apps = client.AppsV1Api(api_client)
            ok = watch.Watch().stream(
                apps.list_deployment_for_all_namespaces, resource_version="2", timeout_seconds=5
            )
            assert [n for _, n, _ in await collect(ok, 3)] == ["d2", "d3", "d4"]
            with pytest.raises(ApiException) as err:
                await collect(
                    watch.Watch().stream(
                        apps.list_deployment_for_all_namespaces,
                        resource_version="1",
                        timeout_seconds=5,
                    ),
                    1,
                )
            assert err.value.status == 410


async def test_dropped_watch_breaks_and_rewatch_from_last_seen_misses_nothing(
    fake_kube: FakeKube, api: client.ApiClient
) -> None:
    apps = client.AppsV1Api(api)
    start = str(fake_kube.resource_version)
    fake_kube.create(deployment("first"))
    fake_kube.create(deployment("second"))
    w = watch.Watch()
    seen: list[str] = []
    # An abrupt drop is a broken chunked body: aiohttp's error, not an ApiException.
    with pytest.raises(aiohttp.ClientPayloadError):
        async for ev in w.stream(
            apps.list_deployment_for_all_namespaces, resource_version=start, timeout_seconds=10
        ):
            seen.append(ev["raw_object"]["metadata"]["name"])
            if len(seen) == 2:
                assert fake_kube.drop_watches() == 1
                # Changes while the client is cut off must arrive after the re-watch.
                fake_kube.create(deployment("while-down"))
                fake_kube.delete("Deployment", "default", "first")
    assert seen == ["first", "second"]

    events = await collect(
        w.stream(
            apps.list_deployment_for_all_namespaces,
            resource_version=w.resource_version,
            timeout_seconds=5,
        ),
        2,
    )
    assert [(t, n) for t, n, _ in events] == [("ADDED", "while-down"), ("DELETED", "first")]


async def test_clean_drop_and_timeout_end_the_stream(
    fake_kube: FakeKube, api: client.ApiClient
) -> None:
    apps = client.AppsV1Api(api)
    t0 = time.monotonic()
    events = []
    async for ev in watch.Watch().stream(
        apps.list_deployment_for_all_namespaces, resource_version="0", timeout_seconds=1
    ):
        events.append(ev)
    assert events == [] and 0.9 < time.monotonic() - t0 < 3

    async def drop_soon() -> int:
        await asyncio.to_thread(fake_kube.wait_for_watches, 1)
        return await asyncio.to_thread(fake_kube.drop_watches, abrupt=False)

    dropper = asyncio.create_task(drop_soon())
    t0 = time.monotonic()
    async for _ in watch.Watch().stream(
        apps.list_deployment_for_all_namespaces, timeout_seconds=30
    ):
        pass
    assert await dropper == 1 and time.monotonic() - t0 < 5
    await asyncio.to_thread(fake_kube.wait_for, lambda fk: fk.open_watches == 0)


# -- faults, counters, lifecycle -----------------------------------------------------------


async def test_unavailable_and_injected_failures(
    fake_kube: FakeKube, api: client.ApiClient
) -> None:
    apps = client.AppsV1Api(api)
    fake_kube.set_unavailable(True)
    with pytest.raises(ApiException) as err:
        await apps.list_deployment_for_all_namespaces()
    assert err.value.status == 503
    fake_kube.set_unavailable(False)
    await apps.list_deployment_for_all_namespaces()

    fake_kube.set_unavailable(0.3, refuse=True)
    with pytest.raises(aiohttp.ClientError):
        await apps.list_deployment_for_all_namespaces()
    await asyncio.sleep(0.5)
    await apps.list_deployment_for_all_namespaces()

    fake_kube.fail_next_requests(1, status=500, verb="list")
    with pytest.raises(ApiException) as err:
        await apps.list_deployment_for_all_namespaces()
    assert err.value.status == 500
    await apps.list_deployment_for_all_namespaces()
    assert fake_kube.requests[("list", "/apis/apps/v1/deployments")] >= 5
    assert [r.status for r in fake_kube.request_log if r.verb == "list"][-2:] == [500, 200]


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


async def test_stop_ends_open_watches_and_frees_everything() -> None:
    fake = FakeKube().start()
    port, kubeconfig = fake.port, fake.kubeconfig_path
    try:
        api_client = await config.new_client_from_config(config_file=str(kubeconfig))
        async with api_client:
            apps = client.AppsV1Api(api_client)
            stream = watch.Watch().stream(
                apps.list_deployment_for_all_namespaces, timeout_seconds=60
            )
            task = asyncio.create_task(collect(stream, 1))
            await asyncio.to_thread(fake.wait_for_watches, 1)
            await asyncio.to_thread(fake.stop)
            assert await asyncio.wait_for(task, 5) == []  # a clean end of stream
    finally:
        fake.stop()  # idempotent
    assert not _port_open(port) and not kubeconfig.exists()
    assert not [t for t in threading.enumerate() if t.name == "fakekube"]


def test_module_runs_as_a_server(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kc.yaml"
    objects = tmp_path / "objs.yaml"
    objects.write_text("kind: Node\nmetadata: {name: n1}\n---\nkind: Pod\nmetadata: {name: p}\n")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakekube",
            "--kubeconfig-out",
            str(kubeconfig),
            "--objects",
            str(objects),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "listening on http://127.0.0.1:" in line and kubeconfig.exists()

        async def nodes() -> list[str]:
            api_client = await config.new_client_from_config(config_file=str(kubeconfig))
            async with api_client:
                got = await client.CoreV1Api(api_client).list_node()
                return [n.metadata.name for n in got.items]

        assert asyncio.run(nodes()) == ["n1"]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        if proc.stdout is not None:
            proc.stdout.close()


# -- pure pieces ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ("a=b", {"a": "b"}, True),
        ("a=b", {}, False),
        ("a!=b", {}, True),
        ("a notin (b)", {}, True),
        ("a in (b)", {}, False),
        ("example.com/a=b,c", {"example.com/a": "b", "c": ""}, True),
        ("!a,b", {"b": "1"}, True),
        ("a=", {"a": ""}, True),
    ],
)
def test_label_selector_semantics(selector: str, labels: dict[str, str], expected: bool) -> None:
    assert Selector.parse(selector, None).matches({"metadata": {"labels": labels}}) is expected


def test_patches() -> None:
    assert merge_patch({"a": {"b": 1, "c": 2}}, {"a": {"b": None, "d": 3}}) == {
        "a": {"c": 2, "d": 3}
    }
    doc = {"l": [1, 2], "m": {"x": 1}}
    ops: list[dict[str, Any]] = [
        {"op": "add", "path": "/l/-", "value": 3},
        {"op": "replace", "path": "/m/x", "value": 2},
        {"op": "remove", "path": "/l/0"},
        {"op": "test", "path": "/m/x", "value": 2},
    ]
    assert json_patch(doc, ops) == {"l": [2, 3], "m": {"x": 2}}
    with pytest.raises(ValueError, match="test failed"):
        json_patch(doc, [{"op": "test", "path": "/m/x", "value": 5}])
