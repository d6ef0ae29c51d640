"""The processes of the daemon benchmarks: FakeKube (in process), and as subprocesses the timing
sink (bench/daemon_sink.py), the reference Metadata Service behind it (``reference`` mode) or
``oxigraph serve`` in memory (``graph-store`` mode: the store's own HTTP server, the daemon's
``graph-store`` sink) and ``kg-exporter run``. Every process is stopped.
"""

from __future__ import annotations

import ctypes
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakekube import FakeKube  # noqa: E402
from tests.sink.servers import OXIGRAPH_HINT  # noqa: E402
from tests.support.processes import free_port, http_ok, require_binary, wait_until  # noqa: E402


class TimingSink:
    """Client of ``bench/daemon_sink.py`` running as a subprocess (see its docstring)."""

    def __init__(self, workdir: Path, upstream: str | None) -> None:
        self.port = free_port()
        argv = [sys.executable, str(ROOT / "bench" / "daemon_sink.py"), "--port", str(self.port)]
        if upstream:
            argv += ["--upstream", upstream]
        self.proc = Proc(argv, workdir / "timing-sink.log", f"{self.url}/_bench/stats")
        # One client for every poll: a new httpx client per request (an SSL context each) cost
        # this process ~0.2 s of CPU per second of polling, taken from the processes measured.
        self.client = httpx.Client(timeout=30)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def acked(self) -> dict[str, float]:
        acks: dict[str, float] = self.client.get(f"{self.url}/_bench/acks").json()
        return acks

    def stats(self) -> dict[str, int]:
        stats: dict[str, int] = self.client.get(f"{self.url}/_bench/stats").json()
        return stats

    def stop(self) -> None:
        self.client.close()
        self.proc.stop()


def _die_with_parent() -> None:
    """In the child: get SIGTERM if the benchmark dies, so nothing is left running (Linux)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Proc:
    def __init__(self, argv: list[str], log: Path, ready_url: str) -> None:
        self.log = log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, preexec_fn=_die_with_parent
            )
        try:
            wait_until(
                lambda: self.proc.poll() is None and http_ok(ready_url),
                timeout=120,
                what=" ".join(argv[1:3]),
            )
        except BaseException:
            self.stop()
            raise

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                return self.proc.wait()
        return self.proc.returncode


def start_metadata_service(workdir: Path) -> tuple[Proc, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "kg_exporter.service", "--store", ":memory:"]
    argv += ["--listen", f"127.0.0.1:{port}"]
    return Proc(argv, workdir / "metadata-service.log", url + "/healthz"), url


def start_oxigraph(workdir: Path) -> tuple[Proc, str]:
    """``oxigraph serve`` with an in-memory store, as the reference service runs in the benches."""
    local = Path(sys.executable).parent / "oxigraph"
    binary = str(local) if local.exists() else require_binary("oxigraph", OXIGRAPH_HINT)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    return Proc(
        [binary, "serve", "--bind", f"127.0.0.1:{port}"], workdir / "oxigraph.log", url
    ), url


def start_daemon(
    kubeconfig: Path,
    sink_url: str,
    workdir: Path,
    *,
    batch: int | None = None,
    kind: str = "subgraph",
    **daemon: Any,
) -> tuple[Proc, str]:
    port = free_port()
    sink: dict[str, Any] = {"url": sink_url, "kind": kind}
    if batch is not None:
        sink["batch_max"] = batch
    config = {
        "sink": sink,
        "daemon": {"listen": f"127.0.0.1:{port}", "log_level": "WARNING", **daemon},
    }
    path = workdir / "daemon.yaml"
    path.write_text(yaml.safe_dump(config))
    argv = [sys.executable, "-m", "kg_exporter.cli", "run", "--config", str(path)]
    argv += ["--kubeconfig", str(kubeconfig)]
    url = f"http://127.0.0.1:{port}"
    return Proc(argv, workdir / "daemon.log", url + "/readyz"), url


def queue_empty(daemon_url: str) -> bool:
    text = httpx.get(daemon_url + "/metrics", timeout=5).text
    depth = 0.0
    for line in text.splitlines():
        if line.startswith("kg_exporter_queue_depth{"):
            depth += float(line.rsplit(" ", 1)[1])
    return depth == 0


class Stack:
    """FakeKube + timing sink (+ reference Metadata Service) + daemon, as a context manager."""

    def __init__(self, sink: str, *, batch: int | None = None, **daemon: Any) -> None:
        """``batch``: the daemon's ``sink.batch_max``; ``daemon``: its ``daemon.*`` settings
        (the product's defaults for what is not given)."""
        self.sink_kind = sink
        self.batch = batch
        self.daemon_settings = daemon
        self._tmp = tempfile.TemporaryDirectory(prefix="kgx-bench-")
        self.workdir = Path(self._tmp.name)
        # Bookmarks off: FakeKube's watch pump spins without sending once a bookmark falls due
        # while events are queued (see tests/daemon/conftest.py), which a burst always hits.
        self.fake = FakeKube(history_limit=1_000_000, validate=False, bookmark_interval=1.0)
        self.service: Proc | None = None
        self.daemon: Proc | None = None
        self.daemon_url = ""
        self.timing: TimingSink | None = None

    def __enter__(self) -> Stack:
        self.fake.start()
        upstream = None
        if self.sink_kind == "reference":
            self.service, upstream = start_metadata_service(self.workdir)
        elif self.sink_kind == "graph-store":
            self.service, upstream = start_oxigraph(self.workdir)
        self.timing = TimingSink(self.workdir, upstream)
        return self

    def start_daemon(self) -> None:
        assert self.timing is not None
        graph_store = self.sink_kind == "graph-store"
        self.daemon, self.daemon_url = start_daemon(
            self.fake.kubeconfig_path,
            self.timing.url + ("/store" if graph_store else ""),
            self.workdir,
            batch=self.batch,
            kind="graph-store" if graph_store else "subgraph",
            **self.daemon_settings,
        )

    def __exit__(self, *exc: object) -> None:
        try:
            if self.daemon is not None:
                code = self.daemon.stop()
                if code != 0:
                    print(f"  (daemon exited {code}; log: {self.daemon.log})", file=sys.stderr)
            if self.timing is not None:
                self.timing.stop()
            if self.service is not None:
                self.service.stop()
        finally:
            self.fake.stop()
            self._tmp.cleanup()
