"""Templates: user overrides, and broken templates failing loudly with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg_exporter import resources
from kg_exporter.errors import RenderError
from kg_exporter.render.renderer import Renderer
from kg_exporter.settings import load_settings
from tests.render import fixtures as f
from tests.render.graph import one


def user_renderer(tmp_path: Path, name: str, text: str) -> Renderer:
    (tmp_path / name).write_text(text)
    return Renderer(load_settings(overrides={"template_dir": tmp_path}))


def test_a_user_template_overrides_the_bundled_one_by_name(tmp_path: Path) -> None:
    bundled = (resources.templates_dir() / "workload.json.j2").read_text()
    custom = bundled.replace(
        '"kgx:appName": {{ workload.app_name }},', '"kgx:appName": {{ workload.app_name ~ "!" }},'
    )
    assert custom != bundled
    renderer = user_renderer(tmp_path, "workload.json.j2", custom)
    workload, telemetry = renderer.workload(f.deployment(availableReplicas=1))
    assert one(workload.document, "k8s:Workload")["kgx:appName"] == "storefront!"
    assert one(telemetry.document, "kgx:Telemetry")  # the others still come from the bundle


def test_syntax_errors_name_the_template_and_line(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match=r"node\.json\.j2:2: .*"):
        user_renderer(tmp_path, "node.json.j2", "{\n {% if %}\n}")


def test_missing_fields_fail_loudly(tmp_path: Path) -> None:
    renderer = user_renderer(
        tmp_path, "node.json.j2", '{"@graph": [{"@id": {{ node.no_such_field }}}]}'
    )
    with pytest.raises(RenderError, match="no_such_field"):
        renderer.node(f.node())


def test_literal_json_mistakes_are_reported(tmp_path: Path) -> None:
    renderer = user_renderer(tmp_path, "node.json.j2", '{"@graph": [{"@id": {{ node.iri }},}]}')
    with pytest.raises(RenderError, match=r"invalid JSON at line 1"):
        renderer.node(f.node())


def test_quoting_a_value_by_hand_cannot_inject(tmp_path: Path) -> None:
    """Even a template that wrongly quotes a value cannot be made to emit attacker JSON: the value is
    encoded, so the result is invalid (a loud RenderError), never a different valid document."""
    renderer = user_renderer(tmp_path, "node.json.j2", '{"n": "{{ node.name }}"}')
    with pytest.raises(RenderError):
        renderer.node(f.node(name='x", "@id": "evil'))


def test_default_metric_names_are_plain_identifiers(renderer: Renderer) -> None:
    import re

    from tests.render.graph import of_type

    docs = [
        renderer.workload(f.deployment(availableReplicas=1))[1],
        renderer.node(f.node(gpus=1))[1],
    ]
    docs += [renderer.glaciation_node(["a"])[1]]
    for subgraph in docs:
        for metric in of_type(subgraph.document, "kgx:Metric"):
            assert re.fullmatch(r"[a-z0-9_]+", metric["kgx:metricName"])


def test_the_exporters_helpers_are_called_directly_and_the_sandbox_still_stands(
    tmp_path: Path,
) -> None:
    """The helpers skip the sandbox's per-call checks (rendering speed); what a template reaches
    through them, or calls that are not theirs, is still checked."""
    renderer = user_renderer(
        tmp_path, "node.json.j2", '{"a": {{ child_iri(node.iri, "x y") }}, "b": {{ range(2) | list }}}'
    )
    assert renderer.node(f.node())[0].document == {
        "a": renderer.iris.node("worker-1") + "/x%20y",
        "b": [0, 1],
    }
    for text in (
        '{"a": {{ child_iri.__globals__ }}}',
        '{"a": {{ dashboard_url.func.__globals__ }}}',
    ):
        renderer = user_renderer(tmp_path, "node.json.j2", text)
        with pytest.raises(RenderError, match="unsafe"):
            renderer.node(f.node())


def test_id_refs_writes_the_list_a_loop_would(tmp_path: Path) -> None:
    renderer = user_renderer(
        tmp_path,
        "node.json.j2",
        '{"a": {{ node.resources | id_refs("resource") }}, "b": {{ [] | id_refs }},'
        ' "c": {{ ["x\\"y", 1, none] | id_refs }}, "d": {{ ["m"] | id_refs(prefix=node.iri ~ "/") }}}',
    )
    assert renderer.node(f.node())[0].document == {
        "a": [{"@id": r} for r in ("cpu", "memory", "cpu", "memory")],  # capacity, allocatable
        "b": [],
        "c": [{"@id": 'x"y'}, {"@id": 1}, {"@id": None}],
        "d": [{"@id": renderer.iris.node("worker-1") + "/m"}],
    }
    renderer = user_renderer(tmp_path, "node.json.j2", '{"a": {{ node.resources | id_refs("nope") }}}')
    with pytest.raises(RenderError, match="nope"):
        renderer.node(f.node())


@pytest.mark.parametrize(
    "value", [0, -7, 2**70, 0.1, -0.0, 1 / 3, 5e-324, 1e300, float("nan"), float("inf")]
)
def test_numbers_print_as_json_dumps_writes_them(value: float) -> None:
    import json

    from kg_exporter.render.environment import _finalize

    assert _finalize(value) == json.dumps(value)
