"""Hostile Kubernetes objects through the daemon's own path, in process: the watch handler
(dispatch → projection → lifecycle state → queue), then the writer (render from the projection →
sink). Generated whole objects: fields missing, wrong types, huge strings, thousands of
containers, deeply nested annotations. Each must yield a valid document or a logged skip; nothing
may escape the handler (an exception there would end a watch loop and the daemon with it)."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kg_exporter.errors import RenderError, SinkRejected
from kg_exporter.runtime.daemon import Daemon
from kg_exporter.watch import EventType
from tests.daemon.conftest import BOOKMARK_INTERVAL
from tests.daemon.fakes import MemorySink
from tests.daemon.harness import daemon_settings
from tests.daemon.objects import deployment, job, node, statefulset
from tests.e2e.stack import MetadataService, eventually
from tests.fakekube import FakeKube
from tests.reliability.conftest import FIGURES, SinkDaemon
from tests.reliability.truth import dep_id, healthz, vm_hwm_mib

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for i in range(depth):
        value = {f"k{i}": value}
    return value


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def hostile_objects(draw: st.DrawFn) -> dict[str, Any]:
    base = draw(
        st.sampled_from(
            [
                deployment("web"),
                statefulset("db"),
                job("batch"),
                node("n1"),
            ]
        )
    )
    obj = copy.deepcopy(base)
    obj.setdefault("status", {})
    if obj["kind"] == "Deployment":
        obj["status"]["availableReplicas"] = 1
    elif obj["kind"] == "StatefulSet":
        obj["status"]["readyReplicas"] = 1
    elif obj["kind"] == "Job":
        obj["status"]["startTime"] = "2026-11-01T10:00:00Z"
    obj["metadata"]["namespace" if obj["kind"] != "Node" else "labels"] = obj["metadata"].get(
        "namespace"
    ) or obj["metadata"].get("labels")
    for _ in range(draw(st.integers(0, 4))):
        paths = _paths(obj)
        path = draw(st.sampled_from(paths))
        parent: Any = obj
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["drop", "wrong", "huge"]))
        if action == "drop":
            del parent[path[-1]]
        elif action == "wrong":
            parent[path[-1]] = draw(JSON)
        else:
            parent[path[-1]] = "x" * draw(st.sampled_from([300, 70_000, 1_000_000]))
    extra = draw(st.sampled_from(["none", "containers", "annotations", "labels"]))
    spec = obj.get("spec")
    if extra == "containers" and isinstance(spec, dict):
        template = spec.get("template")
        if isinstance(template, dict) and isinstance(template.get("spec"), dict):
            template["spec"]["containers"] = [
                {"name": f"c{i}", "image": f"img:{i}", "resources": {"limits": {"cpu": "1"}}}
                for i in range(draw(st.sampled_from([1000, 5000])))
            ]
    elif extra == "annotations" and isinstance(obj.get("metadata"), dict):
        obj["metadata"]["annotations"] = {"deep": nested(draw(st.sampled_from([50, 500]))), "n": 1}
    elif extra == "labels" and isinstance(obj.get("metadata"), dict):
        obj["metadata"]["labels"] = {f"l{i}": "v" * 63 for i in range(2000)}
    return obj


def target_for(daemon: Daemon, obj: dict[str, Any]) -> Any:
    kind = obj.get("kind")
    for target in daemon.targets:
        if target.kind == kind:
            return target
    return daemon.targets[0]


async def through_the_daemon(obj: dict[str, Any]) -> tuple[MemorySink, int]:
    """Dispatch ``obj`` as a watch event, then write every queued key; the number of skips."""
    sink = MemorySink()
    warned = Tally()
    logging.getLogger("kg_exporter").addHandler(warned)
    try:
        return await _through(obj, sink, warned)
    finally:
        logging.getLogger("kg_exporter").removeHandler(warned)


class Tally(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


async def _through(obj: dict[str, Any], sink: MemorySink, warned: Tally) -> tuple[MemorySink, int]:
    daemon = Daemon(daemon_settings(), api=None, sink=sink, serve=False)  # type: ignore[arg-type]
    for target in daemon.targets:  # as after the initial listing
        daemon.dispatcher.list_started(target)
        daemon.dispatcher.list_finished(target)
    target = target_for(daemon, obj)
    daemon.dispatcher.event(target, EventType.ADDED, obj)
    daemon.dispatcher.event(target, EventType.MODIFIED, obj)
    daemon.dispatcher.event(target, EventType.DELETED, obj)
    skips = 0
    while len(daemon.queue):
        key = await asyncio.wait_for(daemon.queue.get(), 5)
        if key is None:
            break
        try:
            await daemon.writer.process(key)
        except (RenderError, SinkRejected):
            skips += 1  # Workers: RenderError dropped, SinkRejected retried with its backoff
        finally:
            daemon.queue.done(key)
    return sink, skips + warned.count  # the handler logs "ignoring a ... event: ..." as a warning


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(obj=hostile_objects())
def test_hostile_objects_yield_valid_documents_or_logged_skips(obj: dict[str, Any]) -> None:
    sink, skips = asyncio.run(through_the_daemon(obj))
    tally = FIGURES.setdefault("test_hostile_objects_yield_valid_documents_or_logged_skips", {})
    tally["objects"] = tally.get("objects", 0) + 1
    tally["documents"] = tally.get("documents", 0) + len(sink.store)
    tally["skips"] = tally.get("skips", 0) + skips
    for subgraph_id, document in sink.store.items():
        assert isinstance(document, dict), subgraph_id
        assert "@graph" in document or "@context" in document, subgraph_id
        text = json.dumps(document)  # JSON-serializable
        assert len(text) < 50_000_000


HOSTILE_OVER_THE_WIRE: list[dict[str, Any]] = [
    {**deployment("wrong-replicas"), "spec": {**deployment("x")["spec"], "replicas": "three"}},
    {**deployment("string-status"), "status": {"availableReplicas": "1", "conditions": "yes"}},
    {**deployment("no-spec"), "spec": None, "status": {"availableReplicas": 1}},
    {**deployment("dict-containers"), "status": {"availableReplicas": 1}},
    {
        **deployment("huge-annotation", annotations={"a": "x" * 1_000_000}),
        "status": {"availableReplicas": 1},
    },
    {
        **deployment("nested-annotation", annotations={"deep": nested(200)}),
        "status": {"availableReplicas": 1},
    },
    {
        **deployment("many-labels", labels={f"l{i}": "v" * 63 for i in range(2000)}),
        "status": {"availableReplicas": 1},
    },
    {**deployment("thousands"), "status": {"availableReplicas": 1}},
    {**job("bad-job"), "status": {"startTime": 12, "active": [], "conditions": [None, 3]}},
    {**statefulset("null-meta"), "status": {"readyReplicas": 1e300}},
    {**node("weird-node"), "status": {"conditions": {"Ready": True}, "capacity": ["4"]}},
]
HOSTILE_OVER_THE_WIRE[3]["spec"]["template"]["spec"]["containers"] = {"main": "busybox"}
HOSTILE_OVER_THE_WIRE[7]["spec"]["template"]["spec"]["containers"] = [
    {"name": f"c{i}", "image": f"img:{i}"} for i in range(3000)
]


def put(fake: FakeKube, obj: dict[str, Any]) -> None:
    """Create ``obj``, then set its status (an API create resets a workload's status)."""
    fake.create(obj)
    if obj.get("status") and obj["kind"] != "Node":
        meta = obj["metadata"]
        fake.patch_status(obj["kind"], meta.get("namespace"), meta["name"], obj["status"])


def test_hostile_objects_over_the_wire_leave_the_daemon_live_and_others_written(
    tmp_path: Path,
    metadata_service: MetadataService,
) -> None:
    """The same through the real processes: FakeKube storing anything (``validate=False``),
    ``kg-exporter run`` listing and watching it; the daemon stays live and writes the others."""
    ms = metadata_service
    with FakeKube(bookmark_interval=BOOKMARK_INTERVAL, validate=False) as fake:
        fake.create(deployment("good-before"))
        fake.patch_status("Deployment", "default", "good-before", {"availableReplicas": 1})
        for obj in HOSTILE_OVER_THE_WIRE[:5]:  # some in the initial listing
            put(fake, obj)
        daemon = SinkDaemon(fake.kubeconfig_path, ms.url, tmp_path, {})
        daemon.ready_path = "/healthz"
        try:
            daemon.start()
            for obj in HOSTILE_OVER_THE_WIRE[5:]:  # the others as watch events
                put(fake, obj)
            fake.create(deployment("good-after"))
            fake.patch_status("Deployment", "default", "good-after", {"availableReplicas": 1})
            # Those whose status says running yield a document, whatever else is malformed; the
            # rest (wrong-typed counts) are not running, so nothing is written for them.
            runnable = {"good-before", "good-after", "no-spec", "dict-containers", "thousands"}
            runnable |= {"huge-annotation", "nested-annotation", "many-labels"}
            eventually(
                lambda: all(ms.phase(dep_id(n)) == "running" for n in runnable),
                within=90,
                what="every running workload written",
            )
            time.sleep(1.0)
            assert daemon.alive and healthz(daemon.url) == 200
            assert daemon.readyz(timeout=30) == 200
            log = daemon.log_text()
            assert "Traceback" not in log, log[-5000:]
            assert {i.rsplit(":", 1)[1] for i in ms.ids("cluster1:workload:")} == runnable
            FIGURES.setdefault(
                "test_hostile_objects_over_the_wire_leave_the_daemon_live_and_others_written", {}
            ).update(
                hostile_objects=len(HOSTILE_OVER_THE_WIRE),
                stored_workload_subgraphs=len(ms.ids("cluster1:workload:")),
                warnings=sum(" WARNING " in line for line in log.splitlines()),
                vm_hwm_mib=vm_hwm_mib(daemon.pid),
            )
        finally:
            daemon.stop()


def _listed_and_watched_are_written(
    tmp_path: Path, ms: MetadataService, listed: dict[str, Any], watched: dict[str, Any]
) -> str:
    """``listed`` in FakeKube's initial listing, ``watched`` then a well-formed Deployment as watch
    events, each running: all three written by a real ``kg-exporter run``, which stays live and
    logs no traceback. The daemon's log."""
    with FakeKube(bookmark_interval=BOOKMARK_INTERVAL, validate=False) as fake:
        put(fake, {**listed, "status": {"availableReplicas": 1}})
        daemon = SinkDaemon(fake.kubeconfig_path, ms.url, tmp_path, {})
        daemon.ready_path = "/healthz"
        try:
            daemon.start()
            put(fake, {**watched, "status": {"availableReplicas": 1}})
            put(fake, {**deployment("good-after"), "status": {"availableReplicas": 1}})
            names = {listed["metadata"]["name"], watched["metadata"]["name"], "good-after"}
            eventually(
                lambda: all(ms.phase(dep_id(n)) == "running" for n in names),
                within=90,
                what=f"{sorted(names)} written",
            )
            assert daemon.alive and healthz(daemon.url) == 200
            log = daemon.log_text()
            assert "Traceback" not in log, log[-5000:]
            return log
        finally:
            daemon.stop()


def test_objects_nested_past_the_parser_are_read_with_the_deep_values_cut(
    tmp_path: Path, metadata_service: MetadataService
) -> None:
    """The API server keeps custom resources nested up to 10,000 levels; Python's JSON parser
    stops near 1,000. Such an object, listed or watched, is written like any other (its deep
    values read as null, with a warning) and the daemon's watch of its kind goes on."""
    listed = deployment("deep-listed")
    listed["spec"]["x-unknown"] = nested(1_500)
    watched = deployment("deep-watched")
    watched["spec"]["x-unknown"] = nested(3_000)
    # The fake API server runs in this process, and Python's encoder recurses as its parser does.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(20_000)
    try:
        log = _listed_and_watched_are_written(tmp_path, metadata_service, listed, watched)
    finally:
        sys.setrecursionlimit(limit)
    assert "read as null" in log


def test_lone_surrogates_over_the_wire_are_read_as_replacement_characters(
    tmp_path: Path, metadata_service: MetadataService
) -> None:
    """JSON may escape a lone UTF-16 surrogate ("\\ud800"; FakeKube's encoder writes it so), and
    json.loads keeps it in the str it makes, which no UTF-8 encoder takes: every document holding
    one, and the sink's batch with it, failed to encode, and was retried forever. Go's decoder
    reads it as U+FFFD: so does the daemon, and the object is written like any other."""
    listed = deployment("lone-listed")
    listed["metadata"]["labels"] = {"app": "x\ud800y", "k\udc00": "v"}
    listed["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:\udfff"
    watched = deployment("lone-watched")
    watched["metadata"]["annotations"] = {"note": "\ud83d alone"}
    log = _listed_and_watched_are_written(tmp_path, metadata_service, listed, watched)
    assert "surrogates not allowed" not in log
