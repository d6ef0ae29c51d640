"""Kinds resolved through API discovery, in process against FakeKube: a kind not served is one log
line and no wait for readiness, and is watched once its CRD is installed (at the version its entry
prefers among those served); a CRD deleted stops its workloads; a 403 is one error naming the
missing rule while the other kinds keep working."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

import pytest
from kubernetes_asyncio.client import ApiClient

from kg_exporter.kinds import bundled_registry
from kg_exporter.watch.discovery import Discovery, Served
from tests.daemon.fakes import MemorySink
from tests.daemon.harness import Running, daemon_settings, eventually, running_daemon
from tests.daemon.objects import JOB_STARTED, WIDGET, WIDGET_ENTRY, Obj, deployment, job
from tests.fakekube import FakeKube
from tests.fakekube.crds import definition
from tests.kinds.crds import install_bundled_crds

GROUP = WIDGET.group
CRD_NAME = f"widgets.{GROUP}"
W1 = "cluster1:workload:widget:default:w1"
WEB = "cluster1:workload:deployment:default:web"
INTERVAL = 0.2


def widget(name: str, version: str = "v1alpha1") -> Obj:
    obj = deployment(name)
    obj["apiVersion"], obj["kind"] = f"{GROUP}/{version}", "Widget"
    return obj


def running(fake: FakeKube, kind: str, name: str) -> None:
    fake.patch_status(kind, "default", name, {"availableReplicas": 1})


def settings() -> object:
    # Widget is configured as a user configures a kind of their own: a settings entry.
    return daemon_settings(daemon={"discovery_interval_seconds": INTERVAL}, kinds=[WIDGET_ENTRY])


def served(daemon: Running, kind: str) -> float:
    return float(daemon.daemon.metrics.kind_served.labels(kind)._value.get())


def forbidden(daemon: Running, kind: str) -> float:
    return float(daemon.daemon.metrics.kind_forbidden.labels(kind)._value.get())


def lines(caplog: pytest.LogCaptureFixture, text: str, level: int = logging.INFO) -> list[str]:
    return [r.getMessage() for r in caplog.records if text in r.getMessage() and r.levelno == level]


async def test_a_kind_not_served_is_one_line_no_wait_and_is_watched_once_installed(
    fake_kube: FakeKube, api: ApiClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "kg_exporter")
    install_bundled_crds(fake_kube)  # Widget is the one kind not served
    sink = MemorySink()
    async with running_daemon(api, sink, settings=settings()) as daemon:  # type: ignore[arg-type]
        await eventually(lambda: daemon.daemon.health.ready, what="ready without Widget")
        assert (served(daemon, "Widget"), served(daemon, "Deployment")) == (0, 1)
        discoveries = fake_kube.requests[("get", "/apis")]
        await eventually(
            lambda: fake_kube.requests[("get", "/apis")] >= discoveries + 2,
            what="discovery checked again twice",
        )
        absent = lines(caplog, "is not served by the API server")
        assert absent == [
            "Widget (widgets.example.com, versions v1beta1, v1alpha1) is not served by the API "
            "server (its CRD is not installed?): not watched; checking again every 0.2 s"
        ]

        # Only v1alpha1 is served: the entry's first version that is.
        fake_kube.create(definition(GROUP, "Widget", versions=("v1alpha1",)))
        fake_kube.create(widget("w1"))
        running(fake_kube, "Widget", "w1")
        await eventually(lambda: sink.phase(W1) == "running", what="the widget exported")
        assert served(daemon, "Widget") == 1
        assert lines(caplog, "Widget is served now") == [
            "Widget is served now (example.com/v1alpha1): watching it"
        ]
        await eventually(lambda: fake_kube.request_count("watch", f"/apis/{GROUP}/v1alpha1/") > 0)
        assert fake_kube.request_count("list", f"/apis/{GROUP}/v1beta1/") == 0
        # Watched now: discovery is no longer asked.
        settled = fake_kube.requests[("get", "/apis")]
        await asyncio.sleep(4 * INTERVAL)
        assert fake_kube.requests[("get", "/apis")] == settled
        assert len(lines(caplog, "is not served by the API server")) == 1


async def test_a_deleted_crd_stops_its_workloads_until_installed_again(
    fake_kube: FakeKube, api: ApiClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "kg_exporter")
    fake_kube.create(definition(GROUP, "Widget", versions=("v1beta1", "v1alpha1")))
    fake_kube.create(widget("w1", "v1beta1"))
    running(fake_kube, "Widget", "w1")
    sink = MemorySink()
    async with running_daemon(api, sink, settings=settings()) as daemon:  # type: ignore[arg-type]
        await eventually(lambda: sink.phase(W1) == "running")
        assert fake_kube.request_count("list", f"/apis/{GROUP}/v1beta1/widgets") == 1
        fake_kube.delete("CustomResourceDefinition", None, CRD_NAME)
        await eventually(lambda: sink.phase(W1) == "stopped", what="the widget stopped")
        gone = "Widget (widgets.example.com) is no longer served"
        await eventually(lambda: len(lines(caplog, gone)) == 1, what="reported")
        assert served(daemon, "Widget") == 0
        fake_kube.create(definition(GROUP, "Widget", versions=("v1beta1",)))
        fake_kube.create(widget("w1", "v1beta1"))
        running(fake_kube, "Widget", "w1")
        await eventually(lambda: sink.phase(W1) == "running", what="running again")
        assert served(daemon, "Widget") == 1


async def test_a_version_no_longer_served_moves_the_watch_without_a_stop(
    fake_kube: FakeKube, api: ApiClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "kg_exporter")
    crd = fake_kube.create(definition(GROUP, "Widget", versions=("v1alpha1",)))
    fake_kube.create(widget("w1"))
    running(fake_kube, "Widget", "w1")
    sink = MemorySink()
    async with running_daemon(api, sink, settings=settings()) as daemon:  # type: ignore[arg-type]
        await eventually(lambda: sink.phase(W1) == "running")
        await daemon.idle()
        puts = sink.puts.count(W1)
        # The operator's upgrade: v1beta1 served and stored, v1alpha1 no longer served.
        crd["spec"]["versions"] = [
            {**crd["spec"]["versions"][0], "name": "v1beta1"},
            {**crd["spec"]["versions"][0], "served": False, "storage": False},
        ]
        fake_kube.update({**crd, "metadata": {"name": CRD_NAME}})
        await eventually(lambda: daemon.daemon.watches.watched.get("Widget") == "v1beta1")
        await eventually(lambda: fake_kube.request_count("watch", f"/apis/{GROUP}/v1beta1/") > 0)
        await daemon.idle()
        assert sink.phase(W1) == "running" and sink.puts.count(W1) == puts
        assert lines(caplog, "Widget is served at another version") == [
            "Widget is served at another version (example.com/v1beta1): watching it"
        ]


async def test_a_forbidden_kind_is_one_error_naming_the_rule_and_the_others_keep_working(
    fake_kube: FakeKube, api: ApiClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "kg_exporter")
    fake_kube.create(definition(GROUP, "Widget", versions=("v1alpha1",)))
    fake_kube.forbid("widgets")
    fake_kube.forbid("deployments")
    fake_kube.create(deployment("web"))
    running(fake_kube, "Deployment", "web")
    sink = MemorySink()
    async with running_daemon(api, sink, settings=settings()) as daemon:  # type: ignore[arg-type]
        await eventually(lambda: daemon.daemon.health.ready, what="ready despite the 403s")
        assert (await daemon.get("/readyz")).status_code == 200
        fake_kube.create(job("batch"))
        fake_kube.patch_status("Job", "default", "batch", JOB_STARTED)
        await eventually(lambda: sink.phase("cluster1:workload:job:default:batch") == "running")
        attempts = fake_kube.request_count("list", "/apis/apps/v1/deployments")
        await eventually(
            lambda: fake_kube.request_count("list", "/apis/apps/v1/deployments") >= attempts + 2,
            what="retried",
        )
        errors = lines(caplog, "cannot read", logging.ERROR)
        assert len(errors) == 2, errors
        deployments = next(e for e in errors if "deployments" in e)
        assert (
            'apiGroups: ["apps"], resources: ["deployments"], verbs: ["get", "list", "watch"]'
            in (deployments)
        )
        assert 'cannot list resource "deployments" in API group "apps"' in deployments
        assert 'apiGroups: ["example.com"], resources: ["widgets"]' in next(
            e for e in errors if "widgets" in e
        )
        assert (forbidden(daemon, "Deployment"), forbidden(daemon, "Job")) == (1, 0)
        assert sink.phase(WEB) is None

        fake_kube.allow("deployments")  # the grant lands: no restart needed
        await eventually(lambda: sink.phase(WEB) == "running", what="exported once allowed")
        assert forbidden(daemon, "Deployment") == 0
        assert lines(caplog, "deployments can be read now") == ["deployments can be read now"]
        assert len(lines(caplog, "cannot read", logging.ERROR)) == 2


async def test_discovery_picks_the_first_served_version_of_the_entry(
    fake_kube: FakeKube, api: ApiClient
) -> None:
    fake_kube.create(definition(GROUP, "Widget", versions=("v1", "v1beta1", "v1alpha1")))
    deployment_kind = bundled_registry()["Deployment"]
    node = replace(deployment_kind, kind="Node", group="", plural="nodes")
    resolved = await Discovery(api).resolve([WIDGET, node, deployment_kind])
    assert resolved == {
        "Widget": Served("v1beta1", True),
        "Node": Served("v1", False),
        "Deployment": Served("v1", True),
    }
    other = replace(WIDGET, versions=("v2", "v1alpha1", "v1"))
    assert await Discovery(api).served(other) == Served("v1alpha1", True)
    assert await Discovery(api).served(replace(WIDGET, group="example.org")) is None
    assert await Discovery(api).served(replace(WIDGET, plural="gadgets")) is None


async def test_discovery_failing_at_start_up_is_retried_and_later_keeps_what_is_watched(
    fake_kube: FakeKube, api: ApiClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "kg_exporter")
    fake_kube.fail_next_requests(2, status=503, verb="get")  # /apis answers 503 twice
    fake_kube.create(deployment("web"))
    running(fake_kube, "Deployment", "web")
    sink = MemorySink()
    async with running_daemon(api, sink, settings=settings()) as daemon:  # type: ignore[arg-type]
        await eventually(lambda: sink.phase(WEB) == "running")
        retried = lines(caplog, "API discovery failed", logging.WARNING)
        assert len(retried) == 2 and "retrying in" in retried[0], retried
        # Later (Widget still absent): a failing check keeps what is watched, one warning.
        checks = fake_kube.requests[("get", "/apis")]
        fake_kube.fail_next_requests(3, status=503, verb="get")
        await eventually(lambda: fake_kube.requests[("get", "/apis")] >= checks + 4)
        later = lines(caplog, "API discovery failed", logging.WARNING)[2:]
        assert len(later) == 1 and "checking again in 0.2 s" in later[0], later
        assert served(daemon, "Deployment") == 1
        fake_kube.scale("Deployment", "default", "web", 0)
        fake_kube.patch_status("Deployment", "default", "web", {"availableReplicas": 0})
        await eventually(lambda: sink.phase(WEB) == "stopped", what="still watched")
