"""The CEL extension is loaded without the ``cel`` package's CLI (typer, rich, prompt_toolkit),
which cost every daemon process about a second of start-up on a loaded machine; and what is
loaded is the package's own extension, so a later ``import cel`` gives the same types."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.e2e.stack import REPO

CLI_MODULES = ("cel.cli", "typer", "rich", "prompt_toolkit", "pygments")


def test_importing_the_kinds_loads_no_cli_of_the_cel_package() -> None:
    probe = (
        "import json, sys; from kg_exporter.kinds import bundled_registry; bundled_registry(); "
        f"print(json.dumps([m for m in {CLI_MODULES!r} if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, check=True, capture_output=True, text=True
    ).stdout
    assert json.loads(out) == []


def test_the_loaded_extension_is_the_packages_own() -> None:
    import cel  # the whole package, after the kinds loaded its extension

    from kg_exporter.kinds import celcore

    assert celcore.Context is cel.Context and celcore.Program is cel.Program
    assert celcore.compile is cel.compile
    context = celcore.Context()
    context.add_variable("object", {"status": {"ready": 2}})
    assert celcore.compile("object.status.ready >= 1").execute(context) is True
