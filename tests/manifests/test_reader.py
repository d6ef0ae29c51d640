"""Reading manifests: every format, and a clear error with file and line for what cannot be read."""

from __future__ import annotations

import json
from pathlib import Path

from kg_exporter.errors import ManifestError
from kg_exporter.manifests import Manifest, read_manifests
from tests.conftest import EXAMPLES


def read(*paths: Path) -> tuple[list[Manifest], list[ManifestError]]:
    items = list(read_manifests(paths))
    return (
        [i for i in items if isinstance(i, Manifest)],
        [i for i in items if isinstance(i, ManifestError)],
    )


def test_examples_directory(tmp_path: Path) -> None:
    objects, errors = read(EXAMPLES)
    assert not errors
    kinds = sorted({m.obj["kind"] for m in objects})
    # examples/kinds holds the custom kinds with the children and pods their operators create.
    assert kinds == [
        "ConfigMap", "CronJob", "DaemonSet", "Deployment", "Ensemble", "Job", "JobSet",
        "MetricSet", "MiniCluster", "Node", "Pod", "Secret", "StatefulSet",
    ]  # fmt: skip
    assert all(m.line >= 1 for m in objects)


def test_multi_document_yaml_records_lines(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(
        "kind: Deployment\nmetadata: {name: a}\n---\n---\nkind: Job\nmetadata: {name: b}\n"
    )
    objects, errors = read(path)
    assert not errors
    assert [(m.obj["metadata"]["name"], m.line) for m in objects] == [("a", 1), ("b", 5)]


def test_kubectl_list_json_and_typed_lists(tmp_path: Path) -> None:
    path = tmp_path / "list.json"
    path.write_text(
        json.dumps({"kind": "List", "items": [{"kind": "Node", "metadata": {"name": "n"}}]})
    )
    typed = tmp_path / "typed.json"
    typed.write_text(json.dumps({"kind": "DeploymentList", "items": [{"metadata": {"name": "d"}}]}))
    objects, errors = read(path, typed)
    assert not errors
    assert [m.obj["kind"] for m in objects] == ["Node", "Deployment"]


def test_broken_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("kind: Deployment\nmetadata: {name: a}\n---\nkind: [unclosed\n")
    objects, errors = read(path)
    assert [m.obj["metadata"]["name"] for m in objects] == ["a"]
    assert len(errors) == 1
    assert f"{path}:" in str(errors[0]) and "not valid YAML" in str(errors[0])
    assert str(errors[0]).split(":")[1] in {"4", "5"}


def test_broken_json_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{\n  "kind": "Node",\n  "metadata": {name}\n}\n')
    _, errors = read(path)
    assert len(errors) == 1 and str(errors[0]).startswith(f"{path}:3: not valid JSON")


def test_scalars_missing_files_and_binary(tmp_path: Path) -> None:
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("just a string\n")
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    _, errors = read(scalar, binary, tmp_path / "missing.yaml")
    messages = [str(e) for e in errors]
    assert any("expected a Kubernetes object" in m for m in messages)
    assert any("cannot read" in m for m in messages)
    assert any("no such file or directory" in m for m in messages)


def test_a_scalar_its_tag_cannot_build_is_an_error_with_its_line(tmp_path: Path) -> None:
    # PyYAML's constructors raise ValueError/KeyError/AttributeError for these, not YAMLError;
    # the first is no tag at all, just a date that does not exist.
    bad = ["2001-02-30", "!!int twelve", "!!bool perhaps", "!!float x", "!!timestamp soon"]
    for number, value in enumerate(bad):
        path = tmp_path / f"bad{number}.yaml"
        path.write_text(f"kind: ConfigMap\nmetadata:\n  name: c\ndata:\n  when: {value}\n")
    # A merge key: SafeConstructor builds it, and finds the bad value.
    merged = tmp_path / "merged.yaml"
    merged.write_text("kind: ConfigMap\nmetadata: {name: m}\ndata:\n  <<: {a: b}\n  n: !!int z\n")
    good = tmp_path / "good.yaml"
    good.write_text("kind: ConfigMap\nmetadata:\n  name: ok\n")
    objects, errors = read(tmp_path)
    assert [m.obj["metadata"]["name"] for m in objects] == ["ok"]
    assert len(errors) == len(bad) + 1
    for error in errors:
        assert "not valid YAML: cannot build the !!" in str(error), error
        assert ".yaml:5: " in str(error) or "merged.yaml:1: " in str(error), error


def test_lone_surrogates_in_json_read_as_replacement_characters(tmp_path: Path) -> None:
    """json.loads keeps "\\ud800" as a str no UTF-8 encoder takes: `render` of such a file died
    with a UnicodeEncodeError traceback while writing its output."""
    path = tmp_path / "s.json"
    path.write_text(
        '{"apiVersion": "apps/v1", "kind": "Deployment",'
        ' "metadata": {"name": "w", "labels": {"a\\udc00": "x\\ud800"}}}'
    )
    (manifest,) = read_manifests([path])
    assert isinstance(manifest, Manifest)
    assert manifest.obj["metadata"]["labels"] == {"a\ufffd": "x\ufffd"}
    json.dumps(manifest.obj, ensure_ascii=False).encode("utf-8")
