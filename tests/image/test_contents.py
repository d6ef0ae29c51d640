"""What the image holds: exactly the locked versions, and nothing that installs packages."""

from __future__ import annotations

import json

import pytest
from packaging.utils import canonicalize_name

from kg_exporter import __version__
from tests.image.engine import Engine, python_in_image
from tests.image.lock import locked

#: The first test to need the image may wait for its build (scripts/image.sh, 2-6 minutes).
pytestmark = [pytest.mark.image, pytest.mark.timeout(900)]

DISTRIBUTIONS = """
import importlib.metadata, json
print(json.dumps([[d.metadata["Name"], d.version] for d in importlib.metadata.distributions()]))
"""

# Importable installers, the wheels ensurepip (or `python -m venv`) would install, pip on PATH.
INSTALLERS = """
import ensurepip, glob, importlib.util, json, os, shutil

found = [m for m in ("pip", "setuptools", "wheel") if importlib.util.find_spec(m)]
bundled = os.path.join(os.path.dirname(ensurepip.__file__), "_bundled")
found += glob.glob(bundled + "/*.whl") + glob.glob("/usr/share/python-wheels/*.whl")
found += [p for p in ("pip", "pip3", "easy_install") if shutil.which(p)]
print(json.dumps(found))
"""


def test_the_image_holds_exactly_the_locked_versions(engine: Engine) -> None:
    installed = {
        canonicalize_name(name): version
        for name, version in json.loads(python_in_image(engine, DISTRIBUTIONS))
    }
    assert installed.pop("kg-exporter") == __version__
    lock = locked()
    assert installed == lock, {
        "not locked": sorted(set(installed) - set(lock)),
        "locked, missing": sorted(set(lock) - set(installed)),
        "other version": {n: (installed[n], lock[n]) for n in installed.keys() & lock.keys()
                          if installed[n] != lock[n]},
    }  # fmt: skip


def test_nothing_in_the_image_installs_packages(engine: Engine) -> None:
    """Neither with the image's Python (the virtualenv) nor with the base interpreter behind it
    (what `python3 -m pip` in a shell of the container would run)."""
    base = python_in_image(engine, "import os, sys; print(os.path.realpath(sys.executable))")
    assert json.loads(python_in_image(engine, INSTALLERS)) == []
    assert json.loads(python_in_image(engine, INSTALLERS, python=base.strip(), isolated=True)) == []
