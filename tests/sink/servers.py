"""The real servers sink and service tests talk to, each a subprocess on 127.0.0.1 with a free
port, always stopped: the reference Metadata Service, ``oxigraph serve``, the GLACIATION stand-in."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.processes import free_port, require_binary

ROOT = Path(__file__).resolve().parents[2]
OXIGRAPH_HINT = "pip install oxigraph (the server CLI of the test extra)"


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in an OOM kill or a node loss."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


@contextlib.contextmanager
def announced(argv: Sequence[str], *, log: Path, timeout: float = 90.0) -> Iterator[Server]:
    """Run ``argv`` until the block ends; it must print ``listening on URL`` on stdout, within
    ``timeout`` seconds: generous, as it costs nothing when the server is quick (a start takes ~1 s
    idle, and an import-heavy process on a 2-core machine at load 14 takes many times that)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    with open(log, "ab") as err:
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, cwd=ROOT, env=env)
    try:
        yield Server(_read_announcement(process, timeout, log), process)
    finally:
        _stop(process)


def reference_service(
    store: Path | str, *, log: Path, token_file: Path | None = None, extra: Sequence[str] = ()
) -> contextlib.AbstractContextManager[Server]:
    argv = [sys.executable, "-m", "kg_exporter.service", "--store", str(store)]
    argv += ["--listen", "127.0.0.1:0", *extra]
    if token_file is not None:
        argv += ["--token-file", str(token_file)]
    return announced(argv, log=log)


def glaciation_service(*, log: Path) -> contextlib.AbstractContextManager[Server]:
    return announced(
        [sys.executable, "-m", "tests.sink.glaciation_server", "--listen", "127.0.0.1:0"], log=log
    )


@contextlib.contextmanager
def oxigraph_server(location: Path, *, log: Path, timeout: float = 60.0) -> Iterator[Server]:
    """``oxigraph serve`` (the pip package's CLI, next to this interpreter or on PATH)."""
    local = Path(sys.executable).parent / "oxigraph"
    binary = str(local) if local.exists() else require_binary("oxigraph", OXIGRAPH_HINT)
    for _ in range(3):  # the free port can be taken between choosing and binding it
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        with open(log, "ab") as out:
            process = subprocess.Popen(
                [binary, "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}"],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            if _wait_http(f"{url}/", process, timeout):
                yield Server(url, process)
                return
        finally:
            _stop(process)
    raise RuntimeError(f"oxigraph serve did not start; see {log}")


def _read_announcement(process: subprocess.Popen[bytes], timeout: float, log: Path) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.1)
        if ready:
            line = process.stdout.readline().decode().strip()
            if line.startswith("listening on "):
                return line.removeprefix("listening on ")
            if not line and process.poll() is not None:
                break
    raise RuntimeError(
        f"{process.args!r} did not announce its address; see {log}:\n{log.read_text()}"
    )


def _wait_http(url: str, process: subprocess.Popen[bytes], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdout is not None:
        process.stdout.close()
