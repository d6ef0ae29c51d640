"""The Dockerfile, read as Docker would (no Docker engine here, so it is never built by the
tests): multi-stage, one pinned slim base, a numeric non-root user, nothing of the build stage in
the final one but the virtualenv; and its build stage's wheel, built from exactly the context
.dockerignore lets through, carries the templates, the ontology and the entry point."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kg_exporter.settings import DaemonSettings
from tests.deploy.manifests import BASE, REPO, one, render

PINNED_BASE = re.compile(r"^python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?$")
BUILD_TOOLS = re.compile(r"\b(gcc|g\+\+|make|build-essential|cc|clang|apt-get|apt|git)\b")


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


def parse(path: Path) -> list[Stage]:
    """Stages with their instructions; continuation lines joined, ARG defaults substituted."""
    text = re.sub(r"\\\n", " ", path.read_text())
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name.strip()] = default.strip()
            continue
        rest = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), rest)
        if keyword == "FROM":
            words = rest.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0], name))
        else:
            stages[-1].instructions.append((keyword, rest))
    return stages


def context_files(root: Path) -> list[Path]:
    """Files Docker would send as the build context, per .dockerignore (last match wins; a
    pattern matching a parent directory matches everything under it)."""
    patterns = []
    for line in (root / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            negated = line.startswith("!")
            patterns.append((negated, line.lstrip("!").strip("/")))
    compiled = [(negated, _regex(p)) for negated, p in patterns]
    reincluded = [p for negated, p in patterns if negated]

    def excluded(rel: str) -> bool:
        prefixes = ["/".join(rel.split("/")[: i + 1]) for i in range(rel.count("/") + 1)]
        verdict = False
        for negated, regex in compiled:
            if any(regex.fullmatch(p) for p in prefixes):
                verdict = not negated
        return verdict

    def hopeless(rel: str) -> bool:
        # An excluded directory no "!" pattern can reach into (.venv, .git): not walked at all.
        return excluded(rel) and not any(
            p.startswith(("*", rel + "/")) or p == rel for p in reincluded
        )

    kept = []
    for directory, subdirs, files in os.walk(root):
        here = Path(directory).relative_to(root).as_posix()
        prefix = "" if here == "." else here + "/"
        subdirs[:] = sorted(d for d in subdirs if not hopeless(prefix + d))
        kept += [Path(directory) / f for f in sorted(files) if not excluded(prefix + f)]
    return kept


def _regex(pattern: str) -> re.Pattern[str]:
    out = ""
    for token in re.split(r"(\*\*/|\*\*|\*|\?)", pattern):
        out += {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(
            token, re.escape(token)
        )
    return re.compile(out)


STAGES = parse(REPO / "Dockerfile")
FINAL = STAGES[-1]


def test_it_is_multi_stage_on_one_pinned_slim_python() -> None:
    assert len(STAGES) >= 2
    names = {s.name for s in STAGES if s.name}
    for stage in STAGES:
        assert PINNED_BASE.match(stage.base) or stage.base in names, stage.base


def test_the_final_stage_runs_as_a_numeric_non_root_user() -> None:
    (user,) = FINAL.all("USER")
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) > 0 and (not gid or int(gid) > 0)
    pod = one(render(BASE), "Deployment", "kg-exporter")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == int(uid)


def test_the_final_stage_has_no_build_tools_and_only_the_virtualenv_from_the_build() -> None:
    for run in FINAL.all("RUN"):
        assert not BUILD_TOOLS.search(run), run
    copies = FINAL.all("COPY")
    assert copies and all(c.startswith("--from=build ") for c in copies)
    assert [shlex.split(c)[1:] for c in copies] == [["/opt/kg-exporter", "/opt/kg-exporter"]]
    (build,) = [s for s in STAGES if s.name == "build"]
    assert any("--only-binary=:all:" in run for run in build.all("RUN"))


def test_it_starts_the_daemon_on_the_port_the_settings_listen_on() -> None:
    (entrypoint,) = FINAL.all("ENTRYPOINT")
    assert shlex.split(entrypoint.strip("[]").replace(",", " ")) == ["kg-exporter"]
    (expose,) = FINAL.all("EXPOSE")
    assert int(expose) == int(DaemonSettings().listen.rpartition(":")[2])


def test_dockerignore_keeps_the_checkout_out_of_the_context() -> None:
    context = {p.relative_to(REPO).parts[0] for p in context_files(REPO)}
    assert context <= {
        "pyproject.toml",
        "setup.py",
        "MANIFEST.in",
        "README.md",
        "kg_exporter",
        "kg_templates",
        "ontology",
    }
    for _, build_args in [i for s in STAGES for i in s.instructions if i[0] == "COPY"]:
        if build_args.startswith("--from="):
            continue
        *sources, _ = shlex.split(build_args)
        for source in sources:
            assert source.strip("/") in context, f"COPY {source}: not in the build context"


@pytest.mark.slow
def test_the_build_stage_makes_a_complete_wheel_from_the_context(tmp_path: Path) -> None:
    """The build stage's `pip wheel` on a copy of exactly the context (pip fetches setuptools
    from the package index, as `docker build` would)."""
    context = tmp_path / "context"
    for path in context_files(REPO):
        target = context / path.relative_to(REPO)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--wheel-dir", "wheels", "."],
        cwd=context,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = (context / "wheels").glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for bundled in ("templates", "ontology"):
        assert any(n.startswith(f"kg_exporter/bundled/{bundled}/") for n in names), bundled
    assert "kg_exporter/leader/elector.py" in names
    (entry_points,) = [n for n in names if n.endswith("entry_points.txt")]
    assert (
        "kg-exporter = kg_exporter.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
    )
