"""Hostile and malformed custom objects — missing status, wrong types, huge lists, strange names,
ownerReferences pointing anywhere — never crash the daemon's state or the renderer, and whatever is
rendered is a valid document."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kg_exporter.errors import RenderError
from kg_exporter.kinds import bundled_registry
from kg_exporter.manifests import Manifest, read_manifests
from kg_exporter.render.batch import Skipped, render_objects
from kg_exporter.render.renderer import Renderer, Subgraph
from kg_exporter.settings import load_settings
from kg_exporter.state.workloads import WorkloadTable
from kg_exporter.validate import assert_valid
from tests.conftest import EXAMPLES

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False),
    st.text(max_size=12), st.sampled_from(["True", "Complete", "Failed", "2026-11-21T10:00:00Z"]),
)  # fmt: skip
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)  # fmt: skip
names = st.one_of(st.from_regex(r"[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?", fullmatch=True), st.text(min_size=1, max_size=30))


@cache
def examples() -> dict[str, list[dict[str, Any]]]:
    """The example objects of each kind: hostile variants start from realistic shapes."""
    out: dict[str, list[dict[str, Any]]] = {}
    for m in read_manifests([EXAMPLES]):
        if isinstance(m, Manifest) and m.obj.get("kind") in bundled_registry():
            out.setdefault(m.obj["kind"], []).append(m.obj)
    return out


@st.composite
def hostile(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(sorted(examples())))
    obj = copy.deepcopy(draw(st.sampled_from(examples()[kind])))
    obj["metadata"]["name"] = draw(names)
    for part in ("spec", "status"):
        choice = draw(st.integers(0, 3))
        if choice == 0:
            obj.pop(part, None)
        elif choice == 1:
            obj[part] = draw(values)
        elif choice == 2 and isinstance(obj.get(part), dict) and obj[part]:
            field = draw(st.sampled_from(sorted(obj[part])))
            obj[part][field] = draw(values)
    if draw(st.booleans()):
        obj["status"] = {"conditions": [{"type": "Completed", "status": "True"}] * 1000,
                         "replicatedJobsStatus": [{"active": 1}] * 1000}  # fmt: skip
    if draw(st.booleans()):
        owner = draw(st.sampled_from(sorted(bundled_registry())))
        obj["metadata"]["ownerReferences"] = [
            {"apiVersion": draw(st.sampled_from([bundled_registry()[owner].api_version, "x/v1", 5])),
             "kind": owner, "name": draw(names), "controller": draw(st.sampled_from([True, "yes"]))}
        ]  # fmt: skip
    return obj


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(objects=st.lists(hostile(), min_size=1, max_size=4))
def test_hostile_objects_never_crash_and_render_valid_documents(objects: list[dict[str, Any]]) -> None:
    table = WorkloadTable(lambda: "2026-11-21T12:00:00Z")
    for obj in objects:
        try:
            table.apply(obj)
            table.apply(obj, seen_live=False)
        except RenderError:
            pass  # no identity (a name that is no string): refused with a message, not a crash
        table.owner_changes()
    for key in table:
        table.delete(key)
    renderer = Renderer(load_settings())
    for result in render_objects(((o, "x") for o in objects), renderer, include_glaciation_node=False):
        if isinstance(result, Subgraph):
            assert_valid(result)
        else:
            assert isinstance(result, Skipped)
