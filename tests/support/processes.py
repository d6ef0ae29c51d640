"""Starting and stopping the real servers tests need, on 127.0.0.1 with free ports."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import httpx
import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def require_binary(name: str, install_hint: str) -> str:
    """The path of ``name``; skip the test when it is absent, except in CI where it must fail."""
    path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if path is None:
        message = f"{name} is not installed ({install_hint})"
        if IN_CI:
            pytest.fail(message + " — required under CI=true")
        pytest.skip(message)
    return path


def wait_until(check: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise TimeoutError(f"{what} not ready after {timeout} s")


def http_ok(url: str, verify: ssl.SSLContext | bool = True) -> bool:
    try:
        return httpx.get(url, timeout=1.0, verify=verify).status_code == 200
    except httpx.HTTPError:
        return False


@contextlib.contextmanager
def running(
    argv: Sequence[str], *, ready_url: str, timeout: float = 60.0, log: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``argv`` until the block ends; ready when ``ready_url`` answers 200. Always stopped."""
    out = open(log, "wb") if log is not None else subprocess.DEVNULL
    process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until(
            lambda: process.poll() is None and http_ok(ready_url),
            timeout=timeout,
            what=" ".join(argv[:1]),
        )
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log is not None and out is not subprocess.DEVNULL:
            out.close()  # type: ignore[union-attr]


def run_bench(script: str, *args: str, timeout: float = 120) -> list[str]:
    """The stdout lines of ``python bench/<script> ARGS`` (a small size of a benchmark, so the
    figure it prints stays reproducible); fails with its stderr when it exits non-zero."""
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, str(root / "bench" / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()
