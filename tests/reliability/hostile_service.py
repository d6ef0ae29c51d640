"""Harness of the hostile-request tests: the reference Metadata Service as a subprocess with small
limits (so time limits are reached in seconds), 20 known subgraphs in it, and a watcher that asks
``/healthz`` every 50 ms while an attack runs and records the slowest answer."""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.e2e.stack import Process
from tests.sink.documents import workload_document
from tests.support.processes import free_port

TOKEN = "hostile-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LD = {"Content-Type": "application/ld+json", **AUTH}
KNOWN = [f"c1:workload:deployment:default:known{i:02d}" for i in range(20)]
#: Limits the service under attack runs with: the defaults, except times (reached in seconds) and
#: the result size (reached by a small store).
LIMITS = {
    "--parse-seconds": "2",
    "--query-seconds": "2",
    "--max-result-bytes": str(256 * 1024),
    "--queue-seconds": "5",
    "--header-seconds": "2",
    "--body-seconds": "2",
}
#: The service process's own peak resident memory may not pass this (its workers are bounded by
#: their RLIMIT_DATA, checked apart).
MAIN_BOUND_MIB = 300.0


class HostileService(Process):
    def __init__(self, store: Path, log: Path, *extra: str) -> None:
        port = free_port()
        self.token_file = store.parent / "token"
        self.token_file.write_text(TOKEN + "\n")
        argv = [sys.executable, "-m", "kg_exporter.service", "--store", str(store)]
        argv += ["--listen", f"127.0.0.1:{port}", "--token-file", str(self.token_file)]
        for flag, value in LIMITS.items():
            argv += [flag, value]
        super().__init__(
            "metadata-service",
            [*argv, *extra],
            url=f"http://127.0.0.1:{port}",
            log=log,
            ready_path="/healthz",
        )
        self.known: dict[str, str] = {}

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def seed(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30, headers=AUTH) as client:
            for subgraph_id in KNOWN:
                body = json.dumps(workload_document(subgraph_id.rsplit(":", 1)[1]))
                answer = client.put(f"/subgraph/{subgraph_id}", content=body, headers=LD)
                assert answer.status_code in (201, 204), answer.text
        self.known = self.read_known()

    def read_known(self) -> dict[str, str]:
        # One client: a new httpx client per request costs ~50 ms of TLS set-up, even for http.
        with httpx.Client(base_url=self.url, timeout=10, headers=AUTH) as client:
            return {i: client.get(f"/subgraph/{i}").text for i in KNOWN}

    def workers(self) -> list[tuple[int, str]]:
        """(pid, role) of its worker processes."""
        found = []
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                try:
                    argv = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
                except OSError:
                    continue
                if b"kg_exporter.service.worker" in argv:
                    found.append(
                        (int(child), argv[argv.index(b"kg_exporter.service.worker") + 1].decode())
                    )
        return found


def memory_mib(pid: int, field_name: str = "VmHWM") -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    match = re.search(rf"^{field_name}:\s+(\d+) kB", text, re.M)
    assert match, text
    return int(match.group(1)) / 1024


@dataclass
class Watch:
    """The slowest /healthz answer while the block ran, and the failed ones."""

    slowest: float = 0.0
    failures: list[str] = field(default_factory=list)
    answers: int = 0


@contextmanager
def watching(url: str) -> Iterator[Watch]:
    watch = Watch()
    stop = threading.Event()

    def run() -> None:
        with httpx.Client(timeout=5) as client:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    status = client.get(url + "/healthz").status_code
                    if status != 200:
                        watch.failures.append(f"/healthz {status}")
                except httpx.HTTPError as exc:
                    watch.failures.append(f"/healthz {type(exc).__name__}")
                watch.slowest = max(watch.slowest, time.monotonic() - started)
                watch.answers += 1
                stop.wait(0.05)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield watch
    finally:
        stop.set()
        thread.join(10)
