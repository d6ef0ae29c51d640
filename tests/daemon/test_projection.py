"""The compact projection renders exactly what the full object renders, and keeps nothing else."""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kg_exporter.kinds import bundled_registry, extract
from kg_exporter.render.facts import DATA_ANNOTATION, Lifecycle
from kg_exporter.render.renderer import Renderer
from kg_exporter.settings import load_settings
from kg_exporter.state.lifecycle import Outcome, Phase
from kg_exporter.state.projection import decode, encode, project_node, project_workload
from tests.conftest import example_objects


@cache
def renderer() -> Renderer:
    return Renderer(load_settings())


def roundtrip(projection: dict[str, Any]) -> dict[str, Any]:
    return decode(encode(projection))


@pytest.mark.parametrize(
    "obj",
    [o for o in example_objects() if o.get("kind") in bundled_registry()],
    ids=lambda o: f"{o['kind']}/{o['metadata']['name']}",
)
def test_example_workloads_render_the_same_from_their_projection(obj: dict[str, Any]) -> None:
    projection = roundtrip(project_workload(obj))
    observed = Lifecycle.from_observation(extract(obj, bundled_registry()).observation)
    assert renderer().workload_from(projection, observed) == renderer().workload(obj)
    stopped = Lifecycle(Phase.STOPPED, "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z")
    assert renderer().workload_from(projection, stopped) == renderer().workload(
        obj, lifecycle=stopped
    )


@pytest.mark.parametrize(
    "obj",
    [o for o in example_objects() if o.get("kind") == "Node"],
    ids=lambda o: o["metadata"]["name"],
)
def test_example_nodes_render_the_same_from_their_projection(obj: dict[str, Any]) -> None:
    projection = roundtrip(project_node(obj))
    assert renderer().node(projection) == renderer().node(obj)
    assert renderer().node(projection, present=False, left_at="2026-01-01T00:00:00Z") == (
        renderer().node(obj, present=False, left_at="2026-01-01T00:00:00Z")
    )


# -- generated objects: every field templates read, plus the noise a real API server sends ------

names = st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True)
text = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=12)
quantities = st.sampled_from(["100m", "1", "2Gi", "512Mi", "0.5", 3, "bogus", None])
timestamps = st.sampled_from(
    ["2026-11-01T09:00:00Z", "2026-11-01T09:00:00.5+02:00", "yesterday", 5]
)
conditions = st.lists(
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(["Available", "Progressing", "Complete", "Failed", "Ready"]),
            "status": st.sampled_from(["True", "False", "Unknown"]),
            "lastTransitionTime": timestamps,
            "reason": text,
            "message": text,
        }
    ),
    max_size=4,
)
resources = st.dictionaries(
    st.sampled_from(["cpu", "memory", "nvidia.com/gpu", "ephemeral-storage", "example.com/x"]),
    quantities,
    max_size=3,
)
containers = st.lists(
    st.fixed_dictionaries(
        {"name": names, "image": st.one_of(st.none(), text)},
        optional={
            "resources": st.fixed_dictionaries(
                {}, optional={"requests": resources, "limits": resources}
            ),
            "env": st.just([{"name": "PASSWORD", "value": "s3cret-canary"}]),
            "livenessProbe": st.just({"httpGet": {"path": "/", "port": 80}}),
        },
    ),
    max_size=3,
)
volumes = st.lists(
    st.one_of(
        st.builds(
            lambda n, c: {"name": n, "persistentVolumeClaim": {"claimName": c}}, names, names
        ),
        st.builds(lambda n: {"name": n, "secret": {"secretName": "canary-secret"}}, names),
        st.builds(lambda n: {"name": n, "persistentVolumeClaim": {}}, names),
    ),
    max_size=3,
)
label_maps = st.dictionaries(
    st.sampled_from(["app", "app.kubernetes.io/name", "tier"]), text, max_size=3
)


@st.composite
def workloads(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(sorted(bundled_registry())))
    annotations = draw(label_maps)
    if draw(st.booleans()):
        annotations["kubectl.kubernetes.io/last-applied-configuration"] = '{"env": "s3cret-canary"}'
    if draw(st.booleans()):
        annotations[DATA_ANNOTATION] = "https://example.org/data/1, not-an-iri"
    pod_spec: dict[str, Any] = {"containers": draw(containers)}
    if draw(st.booleans()):
        pod_spec["initContainers"] = draw(containers)
    if draw(st.booleans()):
        pod_spec["volumes"] = draw(volumes)
    if draw(st.booleans()):
        pod_spec["nodeName"] = draw(names)
    spec: dict[str, Any] = {"template": {"metadata": {"labels": {"x": "y"}}, "spec": pod_spec}}
    if draw(st.booleans()):
        spec["replicas"] = draw(st.sampled_from([0, 1, 3, None, "2", True]))
    if kind == "StatefulSet" and draw(st.booleans()):
        spec["volumeClaimTemplates"] = [{"metadata": {"name": draw(names)}, "spec": {"x": 1}}]
    status = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "availableReplicas": st.sampled_from([0, 1, 2, None, True]),
                "readyReplicas": st.sampled_from([0, 1, None]),
                "active": st.sampled_from([0, 1, None]),
                "startTime": timestamps,
                "completionTime": timestamps,
                "conditions": conditions,
                "observedGeneration": st.integers(0, 5),
            },
        )
    )
    metadata: dict[str, Any] = {
        "name": draw(names),
        "namespace": draw(names),
        "uid": draw(st.uuids()).hex,
        "resourceVersion": "42",
        "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}],
        "labels": draw(label_maps),
        "annotations": annotations,
    }
    if draw(st.booleans()):
        metadata["creationTimestamp"] = draw(timestamps)
    return {"apiVersion": "v1", "kind": kind, "metadata": metadata, "spec": spec, "status": status}


lifecycles = st.one_of(
    st.none(),
    st.builds(
        Lifecycle,
        st.sampled_from(list(Phase)),
        st.sampled_from([None, "2026-11-01T09:00:00.123Z"]),
        st.sampled_from([None, "2026-11-01T10:00:00Z"]),
        st.sampled_from([None, *Outcome]),
    ),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(obj=workloads(), lifecycle=lifecycles)
def test_generated_workloads_render_the_same_from_their_projection(
    obj: dict[str, Any], lifecycle: Lifecycle | None
) -> None:
    original = copy.deepcopy(obj)
    projection = roundtrip(project_workload(obj))
    assert obj == original, "projecting must not modify the object"
    observed = Lifecycle.from_observation(extract(obj, bundled_registry()).observation)
    assert renderer().workload_from(projection, lifecycle or observed) == renderer().workload(
        obj, lifecycle=lifecycle
    )
    kept = json.dumps(projection)
    for noise in (
        "s3cret-canary",
        "canary-secret",
        "managedFields",
        "livenessProbe",
        "resourceVersion",
    ):
        assert noise not in kept


@settings(max_examples=100, deadline=None)
@given(
    name=names,
    labels=label_maps,
    capacity=resources,
    ready=conditions,
    addresses=st.lists(
        st.fixed_dictionaries(
            {"type": st.sampled_from(["Hostname", "InternalIP", None]), "address": text}
        ),
        max_size=3,
    ),
    info=st.fixed_dictionaries(
        {}, optional={"architecture": text, "osImage": text, "bootID": text, "kubeletVersion": text}
    ),
)
def test_generated_nodes_render_the_same_from_their_projection(
    name: str,
    labels: dict[str, str],
    capacity: dict[str, Any],
    ready: list[dict[str, Any]],
    addresses: list[dict[str, Any]],
    info: dict[str, Any],
) -> None:
    obj = {
        "kind": "Node",
        "metadata": {"name": name, "labels": labels, "uid": "u", "annotations": {"a": "b"}},
        "status": {
            "capacity": capacity,
            "allocatable": capacity,
            "conditions": ready,
            "addresses": addresses,
            "nodeInfo": info,
            "images": [{"names": ["big/image:1"], "sizeBytes": 1}],
        },
    }
    projection = roundtrip(project_node(obj))
    assert renderer().node(projection) == renderer().node(obj)
    assert "images" not in projection["status"]  # the node's image list is never kept
    assert "big/image:1" not in json.dumps(projection)


def test_a_projection_is_much_smaller_than_the_object() -> None:
    obj = example_objects()[0]
    noisy = copy.deepcopy(obj)
    noisy["metadata"]["managedFields"] = [{"manager": "m", "fieldsV1": {"f:x": {}}}] * 20
    assert len(encode(project_workload(noisy))) < len(json.dumps(noisy)) / 2
