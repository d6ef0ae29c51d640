"""The container engine the image tests use, as scripts/image.sh chose and configured it (Docker
where its engine answers, else podman with the configuration the script writes), and the image
it built: built here, or awaited when .ci/run builds it in the background."""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.processes import IN_CI

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "image.sh"
#: .ci/run builds the image in the background while lint and other tests run; it writes the
#: build's exit code to this file when done, its output to the log file.
STATUS_ENV = "KG_IMAGE_BUILD_STATUS"
LOG_ENV = "KG_IMAGE_BUILD_LOG"
#: The build takes 2-6 minutes on 2 cores shared with other work (docs/operations.md); within
#: the image tests' own 900 s timeout.
BUILD_TIMEOUT = 840.0


@dataclass(frozen=True)
class Engine:
    """``docker`` or ``podman`` with the environment it needs, and the image under test."""

    command: str
    image: str
    env: dict[str, str]

    def run(
        self, *args: str, timeout: float = 60.0, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [self.command, *args],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{self.command} {' '.join(args)} exited {result.returncode}:\n{result.stderr}"
            )
        return result


def skip_or_fail(reason: str) -> None:
    if IN_CI:
        pytest.fail(reason + " (required under CI=true)")
    pytest.skip(reason)


def _script(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def _await_background_build(status: Path) -> None:
    log = Path(os.environ.get(LOG_ENV, "/dev/null"))
    deadline = time.monotonic() + BUILD_TIMEOUT
    while not status.exists() or not status.read_text().strip():
        if time.monotonic() > deadline:
            pytest.fail(f"the image build did not finish within {BUILD_TIMEOUT:.0f} s ({log})")
        time.sleep(1.0)
    code = status.read_text().strip()
    if code != "0":
        tail = log.read_text(errors="replace")[-6000:] if log.is_file() else ""
        pytest.fail(f"scripts/image.sh exited {code}:\n{tail}")


def engine_with_image() -> Engine:
    """The engine, once the image is built; skips (fails under CI) without an engine."""
    described = _script("env", timeout=60)
    if described.returncode != 0:
        skip_or_fail(f"no container engine to build and run the image: {described.stderr.strip()}")
    status = os.environ.get(STATUS_ENV)
    if status:
        _await_background_build(Path(status))
    else:
        built = _script("build", timeout=BUILD_TIMEOUT)
        if built.returncode != 0:
            pytest.fail(
                f"scripts/image.sh build exited {built.returncode}:\n{built.stderr[-6000:]}"
            )
    values = dict(line.split("=", 1) for line in described.stdout.splitlines() if "=" in line)
    command, image = values.pop("ENGINE"), values.pop("IMAGE")
    return Engine(command, image, values)


def python_in_image(
    engine: Engine, code: str, *, python: str = "python", isolated: bool = False
) -> str:
    """stdout of ``python -c code`` in a throw-away container of the image, as its user, on its
    read-only root; ``isolated``: with -I (no environment variables, no user site)."""
    flags = ["-I"] if isolated else []
    result = engine.run(
        "run", "--rm", "--read-only", "--network", "host", "--entrypoint", python,
        engine.image, *flags, "-c", code,
    )  # fmt: skip
    return result.stdout
