"""Every user-facing input surface given a bad value: one clear error, never a traceback.

Settings (file and environment), CLI flags, manifests, templates with errors, JSON-LD files and an
unreachable Metadata Service, each through the real command line as a user meets them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, ROOT

EX = str(EXAMPLES)


def files(tmp: Path) -> dict[str, str]:
    (tmp / "bad.yaml").write_text("kind: [\n")
    (tmp / "scalar.yaml").write_text("- a\n- list\n")
    (tmp / "bad.json").write_text('{"@graph": [\n')
    (tmp / "templates").mkdir()
    (tmp / "templates" / "node.json.j2").write_text("{\n{% if %}\n}")
    (tmp / "missing-field").mkdir()
    (tmp / "missing-field" / "node.json.j2").write_text('{"@graph": [{"@id": {{ node.nope }}}]}')
    return {"tmp": str(tmp)}


# (arguments, extra environment, exit code, what the last line of stderr must say)
CASES = [
    (["render", "{tmp}/nowhere"], {}, 1, "the rest was rendered"),
    (["render", "{tmp}/bad.yaml", EX], {}, 1, "1 input error(s), 0 object(s) not rendered"),
    (["render", "--format", "xml", EX], {}, 2, "invalid choice: 'xml'"),
    (["render", "--config", "{tmp}/absent.yaml", EX], {}, 2, "cannot read config file"),
    (["render", "--config", "{tmp}/bad.yaml", EX], {}, 2, "bad.yaml:2 is not valid YAML"),
    (["render", "--config", "{tmp}/scalar.yaml", EX], {}, 2, "must hold a mapping"),
    (["render", EX], {"KG_EXPORTER_LABELS__POD": "a b"}, 2,
     "setting 'labels.pod' (from environment variable KG_EXPORTER_LABELS__POD)"),
    (["render", EX], {"KG_EXPORTER_SINK__TIMEOUT_SECONDS": "-1"}, 2, "setting 'sink.timeout_seconds'"),
    (["render", EX], {"KG_EXPORTER_TEMPLATE_DIR": "{tmp}/templates"}, 2,
     "cannot load template: {tmp}/templates/node.json.j2:2:"),
    (["render", EX], {"KG_EXPORTER_TEMPLATE_DIR": "{tmp}/missing-field"}, 1, "3 object(s) not rendered"),
    (["validate", "{tmp}/bad.json"], {}, 1, ""),
    (["backfill", "--manifests", EX, "--concurrency", "0"], {}, 2, "--concurrency must be at least 1"),
    (["backfill", "--manifests", EX, "--dry-run"], {}, 2, "--dry-run needs --out"),
    (["backfill", "--manifests", EX, "--sink", "not-a-url"], {}, 2, "--sink 'not-a-url'"),
    (["backfill", "--manifests", EX, "--sink", "http://127.0.0.1:1"],
     {"KG_EXPORTER_SINK__MAX_ATTEMPTS": "2"}, 2, "cannot use the sink"),
    (["metadata-service", "--store", "{tmp}/st", "--listen", "notaport"], {}, 2, "is not HOST:PORT"),
    (["metadata-service", "--store", ":memory:", "--tls-cert", "{tmp}/bad.json", "--tls-key",
      "{tmp}/bad.yaml"], {}, 2, "--tls-cert {tmp}/bad.json: not a PEM certificate"),
    (["run", "--kubeconfig", "{tmp}/absent-kubeconfig"], {}, 2, "cannot load Kubernetes credentials"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "env", "code", "says"), CASES, ids=lambda v: str(v)[:40])
def test_bad_input_is_one_clear_error(
    tmp_path: Path, args: list[str], env: dict[str, str], code: int, says: str
) -> None:
    names = files(tmp_path)
    argv = [a.format(**names) for a in args]
    environ = {**os.environ, **{k: v.format(**names) for k, v in env.items()}}
    result = subprocess.run(
        [sys.executable, "-m", "kg_exporter.cli", *argv],
        capture_output=True, text=True, cwd=tmp_path, env=environ, timeout=120,
    )  # fmt: skip
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    if says:
        last = result.stderr.strip().splitlines()[-1]
        assert says.format(**names) in last, result.stderr
    else:  # validate reports on stdout, naming the file and line
        assert "not valid JSON at line 2" in result.stdout, result.stdout
    assert ROOT  # the commands ran from outside the checkout


def test_validate_a_file_nested_past_the_parser(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text('{"@id": "urn:a", "urn:p": ' + '{"urn:p": ' * 5_000 + '"x"' + "}" * 5_001)
    result = subprocess.run(
        [sys.executable, "-m", "kg_exporter.cli", "validate", str(deep)],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    assert "nested deeper than Python's JSON parser goes" in result.stdout, result.stdout
