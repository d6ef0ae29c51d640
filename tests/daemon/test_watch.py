"""The watch loop against the fake API server, in process, with the real kubernetes_asyncio client:
paged lists, 410 → relist, dropped connections → resume, changes missed while down → vanished."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import pytest
from kubernetes_asyncio.client import ApiClient

from kg_exporter.watch import EventType, Target, Watcher, open_api_client
from kg_exporter.watch.loop import NotServed
from tests.daemon.harness import eventually
from tests.daemon.objects import deployment
from tests.fakekube import FakeKube
from tests.fakekube.crds import definition

DEPLOYMENTS = Target("Deployment", "apps", "v1", "deployments")
Key = tuple[str, str, str]


def key_of(obj: Mapping[str, Any]) -> Key:
    meta = obj["metadata"]
    return (obj["kind"], meta.get("namespace", ""), meta["name"])


class Mirror:
    """A Handler that mirrors what it is told, and remembers how it was told."""

    def __init__(self) -> None:
        self.objects: dict[Key, Mapping[str, Any]] = {}
        self.lists = 0
        self.vanished: list[Key] = []
        self.events: list[tuple[str, str]] = []
        self._seen: set[Key] = set()

    def list_started(self, target: Target) -> None:
        self.lists += 1
        self._seen = set()

    def listed(self, target: Target, obj: Mapping[str, Any]) -> None:
        assert obj["kind"] == target.kind  # list items come without kind: the loop sets it
        self.objects[key_of(obj)] = obj
        self._seen.add(key_of(obj))

    def list_finished(self, target: Target) -> None:
        for key in [k for k in self.objects if k not in self._seen]:
            self.vanished.append(key)
            del self.objects[key]

    def event(self, target: Target, event_type: EventType, obj: Mapping[str, Any]) -> None:
        self.events.append((event_type.value, obj["metadata"]["name"]))
        if event_type is EventType.DELETED:
            self.objects.pop(key_of(obj), None)
        else:
            self.objects[key_of(obj)] = obj

    def names(self) -> set[str]:
        return {key[2] for key in self.objects}

    def status(self, name: str) -> Mapping[str, Any]:
        return next(o.get("status", {}) for k, o in self.objects.items() if k[2] == name)


class Running:
    def __init__(self, watcher: Watcher) -> None:
        self.watcher = watcher
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Watcher:
        self.task = asyncio.create_task(self.watcher.run())
        return self.watcher

    async def __aexit__(self, *exc: object) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        assert self.task.cancelled(), "the loop only ends when cancelled"


def watcher(api: ApiClient, mirror: Mirror, target: Target = DEPLOYMENTS, **kw: Any) -> Watcher:
    restarts: list[str] = []
    delays: list[int] = []

    def backoff(failures: int) -> float:
        delays.append(failures)
        return 0.05

    w = Watcher(
        api,
        target,
        mirror,
        backoff=backoff,
        on_restart=lambda t, reason: restarts.append(reason),
        **kw,
    )
    w.restarts = restarts  # type: ignore[attr-defined]
    w.failures = delays  # type: ignore[attr-defined]
    return w


async def test_lists_in_pages_then_watches_every_change(
    fake_kube: FakeKube, api: ApiClient
) -> None:
    for i in range(7):
        fake_kube.create(deployment(f"d{i}"))
    mirror = Mirror()
    async with Running(watcher(api, mirror, page_size=3)):
        await eventually(lambda: len(mirror.objects) == 7 and fake_kube.open_watches == 1)
        assert fake_kube.request_count("list") == 3  # 3 + 3 + 1
        fake_kube.create(deployment("new"))
        fake_kube.patch_status("Deployment", "default", "d1", {"availableReplicas": 1})
        fake_kube.delete("Deployment", "default", "d2")
        await eventually(lambda: "new" in mirror.names() and "d2" not in mirror.names())
        await eventually(lambda: mirror.status("d1").get("availableReplicas") == 1)
    assert mirror.events == [("ADDED", "new"), ("MODIFIED", "d1"), ("DELETED", "d2")]
    assert mirror.lists == 1


async def test_410_relists(
    fake_kube: FakeKube, api: ApiClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="kg_exporter.watch")
    fake_kube.create(deployment("a"))
    fake_kube.fail_next_watches(1, 410, kind="deployments")
    mirror = Mirror()
    async with Running(w := watcher(api, mirror)):
        await eventually(lambda: mirror.lists == 2 and fake_kube.open_watches == 1)
        fake_kube.create(deployment("b"))
        await eventually(lambda: mirror.names() == {"a", "b"})
    assert w.restarts == ["expired"]  # type: ignore[attr-defined]
    assert any(
        r.getMessage().startswith("relisting deployments after 410: HTTP 410: too old")
        for r in caplog.records
    ), [r.getMessage() for r in caplog.records]


async def test_a_dropped_watch_resumes_from_the_last_resource_version(
    fake_kube: FakeKube, api: ApiClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="kg_exporter.watch")
    fake_kube.create(deployment("a"))
    mirror = Mirror()
    async with Running(w := watcher(api, mirror)):
        await eventually(lambda: fake_kube.open_watches == 1)
        fake_kube.patch_status("Deployment", "default", "a", {"availableReplicas": 1})
        await eventually(lambda: mirror.status("a").get("availableReplicas") == 1)
        last = str(fake_kube.resource_version)
        fake_kube.drop_watches(abrupt=True)
        fake_kube.patch_status("Deployment", "default", "a", {"availableReplicas": 2})
        fake_kube.create(deployment("b"))
        await eventually(lambda: mirror.names() == {"a", "b"})
        await eventually(lambda: mirror.status("a").get("availableReplicas") == 2)
    assert mirror.lists == 1, "a drop resumes the watch; it does not relist"
    assert w.restarts == ["dropped"]  # type: ignore[attr-defined]
    messages = [r.getMessage() for r in caplog.records]
    assert any(
        m.startswith("watch of deployments failed: ClientPayloadError")
        and m.endswith(f"resuming from resourceVersion {last} in 0.1 s")
        for m in messages
    ), messages


async def test_changes_missed_while_down_are_found_by_the_relist(
    fake_kube: FakeKube, api: ApiClient
) -> None:
    for name in ("keep", "gone"):
        fake_kube.create(deployment(name))
    mirror = Mirror()
    async with Running(w := watcher(api, mirror)):
        await eventually(lambda: fake_kube.open_watches == 1 and len(mirror.objects) == 2)
        fake_kube.set_unavailable(True)  # watches break; reconnects get 503
        fake_kube.delete("Deployment", "default", "gone")
        fake_kube.create(deployment("born"))
        fake_kube.compact()  # the history that would have told us is gone
        await asyncio.sleep(0.2)
        fake_kube.set_unavailable(False)
        await eventually(lambda: mirror.names() == {"keep", "born"})
    assert mirror.vanished == [("Deployment", "default", "gone")]
    assert mirror.lists == 2
    assert "expired" in w.restarts  # type: ignore[attr-defined]
    assert "error" in w.restarts or "dropped" in w.restarts  # type: ignore[attr-defined]


async def test_errors_back_off_with_growing_failure_counts(
    fake_kube: FakeKube, api: ApiClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="kg_exporter.watch")
    fake_kube.create(deployment("a"))
    fake_kube.fail_next_requests(3, 500, verb="list")
    mirror = Mirror()
    async with Running(w := watcher(api, mirror)):
        await eventually(lambda: len(mirror.objects) == 1)
    assert w.failures[:3] == [1, 2, 3]  # type: ignore[attr-defined]
    assert any(
        r.getMessage().startswith("watch of deployments failed: HTTP 500")
        and r.getMessage().endswith("relisting in 0.1 s")
        for r in caplog.records
    )


async def test_namespace_and_label_selector(fake_kube: FakeKube, api: ApiClient) -> None:
    fake_kube.create(deployment("in", ns="prod", labels={"team": "a"}))
    fake_kube.create(deployment("other-team", ns="prod", labels={"team": "b"}))
    fake_kube.create(deployment("other-ns", ns="dev", labels={"team": "a"}))
    target = Target("Deployment", "apps", "v1", "deployments", "prod", "team=a")
    mirror = Mirror()
    async with Running(watcher(api, mirror, target)):
        await eventually(lambda: fake_kube.open_watches == 1)
        assert mirror.names() == {"in"}
        fake_kube.patch("Deployment", "prod", "in", {"metadata": {"labels": {"team": "b"}}})
        await eventually(lambda: mirror.names() == set())  # left the selection: DELETED
        fake_kube.patch("Deployment", "prod", "other-team", {"metadata": {"labels": {"team": "a"}}})
        await eventually(lambda: mirror.names() == {"other-team"})


async def test_server_timeout_resumes_without_relisting(api: ApiClient) -> None:
    with FakeKube(default_watch_timeout=0.2) as fake:
        client = await open_api_client(fake.kubeconfig_path)
        try:
            mirror = Mirror()
            async with Running(w := watcher(client, mirror, timeout_seconds=1)):
                await asyncio.sleep(0.3)
                fake.create(deployment("a"))
                await eventually(lambda: mirror.names() == {"a"})
                await eventually(lambda: w.restarts.count("timeout") >= 2)  # type: ignore[attr-defined]
            assert mirror.lists == 1
        finally:
            await client.close()


async def test_bookmarks_move_the_cursor_without_events() -> None:
    with FakeKube(bookmark_interval=0.1) as fake:
        fake.create(deployment("a"))
        client = await open_api_client(fake.kubeconfig_path)
        try:
            mirror = Mirror()
            async with Running(w := watcher(client, mirror)):
                await eventually(lambda: fake.open_watches == 1)
                listed_at = w.cursor.resource_version
                fake.create(
                    {
                        **deployment("other"),
                        "kind": "StatefulSet",
                        "spec": {
                            "selector": {"matchLabels": {"a": "b"}},
                            "serviceName": "s",
                            "template": {
                                "metadata": {"labels": {"a": "b"}},
                                "spec": {"containers": [{"name": "c", "image": "i"}]},
                            },
                        },
                    }
                )
                # A change of another kind moves the global resourceVersion; a bookmark tells.
                await eventually(lambda: w.cursor.resource_version != listed_at)
                assert w.cursor.resource_version == str(fake.resource_version)
            assert mirror.events == [] and mirror.lists == 1
        finally:
            await client.close()


async def test_403_is_reported_once_then_retried_quietly_until_allowed(
    fake_kube: FakeKube, api: ApiClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="kg_exporter.watch")
    fake_kube.create(deployment("a"))
    fake_kube.forbid("deployments")
    reports: list[tuple[Target, int]] = []
    permitted: list[Target] = []
    w = watcher(
        api,
        Mirror(),
        on_forbidden=lambda t, exc: reports.append((t, exc.status)),
        on_permitted=permitted.append,
        forbidden_retry=0.05,
    )
    async with Running(w):
        await eventually(lambda: fake_kube.request_count("list") >= 4)
        assert reports == [(DEPLOYMENTS, 403)] and w.forbidden and not permitted
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert set(w.restarts) == {"forbidden"}  # type: ignore[attr-defined]
        assert w.failures == []  # type: ignore[attr-defined]  # no backoff: its own interval
        fake_kube.allow("deployments")
        await eventually(lambda: permitted == [DEPLOYMENTS] and fake_kube.open_watches == 1)
        assert not w.forbidden and len(reports) == 1


async def test_404_ends_the_loop_the_resource_is_no_longer_served(
    fake_kube: FakeKube, api: ApiClient
) -> None:
    fake_kube.create(definition("example.com", "Widget", versions=("v1",)))
    widgets = Target("Widget", "example.com", "v1", "widgets")
    task = asyncio.create_task(watcher(api, Mirror(), widgets).run())
    await eventually(lambda: fake_kube.open_watches == 1)
    fake_kube.delete("CustomResourceDefinition", None, "widgets.example.com")
    with pytest.raises(NotServed, match=r"no longer serves widgets \(example.com/v1\)"):
        await asyncio.wait_for(task, 5)
