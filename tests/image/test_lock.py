"""requirements.lock against pyproject.toml and against the environment the tests run in (CI
installs it with the lock as constraints): the tests exercise exactly what the image carries.
No container engine needed."""

from __future__ import annotations

import importlib.metadata
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.image.lock import LOCK, locked

REFRESH = "run scripts/lock.sh (docs/operations.md, 'The image')"
REINSTALL = ".venv/bin/pip install -e '.[test]' -c requirements.lock"


def runtime_requirements() -> list[Requirement]:
    project = tomllib.loads((LOCK.parent / "pyproject.toml").read_text())["project"]
    return [Requirement(r) for r in project["dependencies"]]


def test_every_runtime_dependency_is_pinned_to_an_allowed_version() -> None:
    lock = locked()
    for requirement in runtime_requirements():
        name = canonicalize_name(requirement.name)
        assert name in lock, f"{name} is not in requirements.lock: {REFRESH}"
        assert requirement.specifier.contains(lock[name], prereleases=True), (
            f"requirements.lock pins {name}=={lock[name]}, pyproject.toml wants "
            f"{requirement.specifier}: {REFRESH}"
        )


def test_the_lock_holds_the_dependencies_of_its_dependencies_and_nothing_else() -> None:
    """The closure of pyproject.toml's runtime requirements, read from the installed metadata."""
    needed: set[str] = set()
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = runtime_requirements()
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        key = (name, frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        needed.add(name)
        extras = {"", *requirement.extras}  # rdflib[html] brings what its extra "html" needs
        for line in importlib.metadata.requires(name) or []:
            child = Requirement(line)
            if child.marker is None or any(child.marker.evaluate({"extra": e}) for e in extras):
                todo.append(child)
    assert needed == set(locked()), REFRESH


def test_the_tests_run_against_the_locked_versions() -> None:
    differing = {
        name: (importlib.metadata.version(name), version)
        for name, version in locked().items()
        if importlib.metadata.version(name) != version
    }
    assert not differing, f"installed, locked: {differing}; reinstall: {REINSTALL}"
