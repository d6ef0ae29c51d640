"""``validate_files``: the ``kg-exporter validate FILE...`` command."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

from kg_exporter.render.renderer import Renderer, Subgraph
from kg_exporter.validate import validate_files
from tests.validate.objects import cases


def _run(*paths: Path) -> tuple[int, str]:
    out = io.StringIO()
    code = validate_files(paths, out=out)
    return code, out.getvalue()


def _write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def _subgraphs(renderer: Renderer) -> tuple[Subgraph, ...]:
    return cases()["deployment"](renderer)


def test_one_document_per_file(renderer: Renderer, tmp_path: Path) -> None:
    workload, telemetry = _subgraphs(renderer)
    a = _write(tmp_path / "a.jsonld", workload.document)
    b = _write(tmp_path / "b.jsonld", telemetry.document)
    assert _run(a, b) == (0, f"{a}: OK (1 document)\n{b}: OK (1 document)\n")


def test_an_array_of_documents(renderer: Renderer, tmp_path: Path) -> None:
    docs = [s.document for s in _subgraphs(renderer)]
    path = _write(tmp_path / "all.json", docs)
    assert _run(path) == (0, f"{path}: OK (2 documents)\n")


def test_subgraph_envelopes_check_the_kind_from_the_id(renderer: Renderer, tmp_path: Path) -> None:
    workload, telemetry = _subgraphs(renderer)
    entries = [
        {"id": workload.id, "document": workload.document},
        # Mislabelled: a workload document under a telemetry id.
        {"id": telemetry.id, "document": workload.document},
    ]
    path = _write(tmp_path / "dump.json", {"subgraphs": entries})
    code, out = _run(path)
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == f"{path}: FAIL (1 of 2 documents)"
    assert lines[1] == f"  subgraphs[1] ({telemetry.id}):"
    assert (
        "    workload-telemetry subgraph — rdf:type — describes 0 kgx:Telemetry, expected 1"
        in lines
    )


def test_a_failing_document_lists_its_problems(renderer: Renderer, tmp_path: Path) -> None:
    document = copy.deepcopy(_subgraphs(renderer)[0].document)
    for node in document["@graph"]:
        if node.get("@type") == "glc:Status":
            node["kgx:phase"] = "bogus"
    ok = _write(tmp_path / "ok.jsonld", _subgraphs(renderer)[1].document)
    bad = _write(tmp_path / "bad.jsonld", document)
    code, out = _run(ok, bad)
    assert code == 1
    assert out.splitlines()[0] == f"{ok}: OK (1 document)"
    assert out.splitlines()[1] == f"{bad}: FAIL (1 of 1 document)"
    assert out.splitlines()[2].startswith("  <https://kg-exporter.example.org/")
    assert '— kgx:phase — "bogus" is not one of' in out


def test_invalid_json_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.jsonld"
    path.write_text('{\n  "@context": {},\n  "@id": "urn:x",,\n}\n', encoding="utf-8")
    code, out = _run(path)
    assert code == 1
    assert (
        out == f"{path}: ERROR not valid JSON at line 3 column 18: Expecting property name "
        "enclosed in double quotes\n"
    )


def test_a_missing_file(tmp_path: Path) -> None:
    code, out = _run(tmp_path / "nope.jsonld")
    assert code == 1
    assert out == f"{tmp_path / 'nope.jsonld'}: ERROR cannot read: No such file or directory\n"


def test_a_json_value_that_is_not_a_document(tmp_path: Path) -> None:
    path = _write(tmp_path / "list.json", [1])
    code, out = _run(path)
    assert code == 1
    assert "a JSON-LD document is a JSON object, not int" in out


def test_a_remote_context_fails_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "remote.jsonld", {"@context": "https://example.org/c", "@id": "urn:x"})
    code, out = _run(path)
    assert code == 1
    assert "remote JSON-LD document 'https://example.org/c' refused" in out
