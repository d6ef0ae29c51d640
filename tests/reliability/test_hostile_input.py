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
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kg_exporter.errors import RenderError, SinkRejected
from kg_exporter.runtime.daemon import Daemon
from kg_exporter.watch import EventType
from tests.daemon.fakes import MemorySink
from tests.daemon.harness import daemon_settings
from tests.daemon.objects import deployment, job, node, statefulset
from tests.reliability.conftest import FIGURES

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
            skips += 1  # what Workers logs as "not writing ...; dropped until it changes again"
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
