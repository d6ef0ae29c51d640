"""The Dockerfile, read as Docker would: multi-stage, one pinned slim base, a numeric non-root
user, nothing of the build stage in the final one but the virtualenv, dependencies from the lock
only, and a build context of exactly what it copies. tests/image builds the image and runs it."""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

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


def test_dependencies_come_from_the_lock_only() -> None:
    """Our wheel goes in with the lock as constraints and no index: nothing unlocked can float in
    (tests/image compares the built image's versions with the lock)."""
    (build,) = [s for s in STAGES if s.name == "build"]
    runs = build.all("RUN")
    assert any("--requirement requirements.lock" in r and "--no-deps" in r for r in runs)
    assert any("--constraint requirements.lock" in r and "--no-index" in r for r in runs)
    assert any("--without-pip /opt/kg-exporter" in r for r in runs)


def test_it_starts_the_daemon_on_the_port_the_settings_listen_on() -> None:
    (entrypoint,) = FINAL.all("ENTRYPOINT")
    assert shlex.split(entrypoint.strip("[]").replace(",", " ")) == ["kg-exporter"]
    (expose,) = FINAL.all("EXPOSE")
    assert int(expose) == int(DaemonSettings().listen.rpartition(":")[2])


def test_dockerignore_keeps_the_checkout_out_of_the_context() -> None:
    context = {p.relative_to(REPO).parts[0] for p in context_files(REPO)}
    assert context <= {
        "pyproject.toml",
        "requirements.lock",
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
