"""The real processes of the end-to-end tests: the reference Metadata Service and ``kg-exporter
run``, each a subprocess on a free 127.0.0.1 port, always stopped; FakeKube runs in the test.

Observation goes through the Metadata Service's HTTP API only (ids, documents, its /metrics request
counters), so the tests see exactly what a reader of the graph would.
"""

from __future__ import annotations

import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.support.processes import free_port, http_ok, wait_until

REPO = Path(__file__).resolve().parents[2]
#: Generous: a drain takes at most drain_deadline_seconds, and the exit after it seconds more on a
#: loaded machine; only a process that ignores SIGTERM waits this long.
STOP_TIMEOUT = 60.0


class Process:
    """One subprocess with a log file; :meth:`start` waits until ``ready_path`` answers 200."""

    def __init__(self, name: str, argv: list[str], *, url: str, log: Path, ready_path: str) -> None:
        self.name = name
        self.argv = argv
        self.url = url
        self.log = log
        self.ready_path = ready_path
        #: How its HTTPS certificate is checked (a context trusting the test's CA).
        self.verify: ssl.SSLContext | bool = True
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120.0) -> None:
        """Start it and wait until ready, at most ``timeout`` s: generous, as a start that is quick
        costs nothing more, and a Python process importing its stack on a loaded 2-core machine
        took over 30 s (an empty log: it had not reached its first line)."""
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
        try:
            wait_until(
                lambda: self.alive and http_ok(self.url + self.ready_path, self.verify),
                timeout=timeout,
                what=self.name,
            )
        except TimeoutError:
            self.stop()
            raise AssertionError(
                f"{self.name} did not become ready; log:\n{self.log_text()}"
            ) from None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        """Signal it and wait; killed if it does not exit in time. Its exit code."""
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                return proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise AssertionError(f"{self.name} ignored SIGTERM for {STOP_TIMEOUT} s") from None
        return proc.returncode

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class MetadataService(Process):
    """The reference service on a fixed port, so it can be stopped and started again in place;
    over HTTPS with ``tls=(certificate, key, CA that signed it)``."""

    def __init__(
        self, store: Path, log: Path, *, tls: tuple[Path, Path, Path] | None = None
    ) -> None:
        port = free_port()
        argv = [
            sys.executable,
            "-m",
            "kg_exporter.service",
            "--store",
            str(store),
            "--listen",
            f"127.0.0.1:{port}",
        ]
        scheme = "http"
        if tls is not None:
            argv += ["--tls-cert", str(tls[0]), "--tls-key", str(tls[1])]
            scheme = "https"
        super().__init__(
            "metadata-service",
            argv,
            url=f"{scheme}://127.0.0.1:{port}",
            log=log,
            ready_path="/healthz",
        )
        if tls is not None:
            self.verify = ssl.create_default_context(cafile=str(tls[2]))

    def ids(self, prefix: str = "") -> list[str]:
        response = httpx.get(
            f"{self.url}/subgraph", params={"prefix": prefix}, timeout=30, verify=self.verify
        )
        response.raise_for_status()
        return sorted(response.json())

    def document(self, subgraph_id: str) -> dict[str, Any] | None:
        response = httpx.get(f"{self.url}/subgraph/{subgraph_id}", timeout=30, verify=self.verify)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        document: dict[str, Any] = response.json()
        return document

    def status(self, subgraph_id: str) -> dict[str, Any] | None:
        """The glc:Status node of a stored workload/node subgraph, as plain values."""
        document = self.document(subgraph_id)
        if document is None:
            return None
        for node in document.get("@graph", []):
            if "kgx:phase" in node:
                return {
                    k: v.get("@value", v) if isinstance(v, dict) else v for k, v in node.items()
                }
        return None

    def phase(self, subgraph_id: str) -> str | None:
        status = self.status(subgraph_id)
        return None if status is None else str(status["kgx:phase"])

    def writes(self) -> int:
        """Subgraph writes the service has judged, whatever their outcome: one per PUT of a
        subgraph, and one per subgraph of a batch (``POST /subgraph``), so a test counts writes
        the same whether the daemon sends them one by one or together."""
        text = httpx.get(f"{self.url}/metrics", timeout=30, verify=self.verify).text
        total = 0.0
        for line in text.splitlines():
            if line.startswith("kg_metadata_service_subgraph_writes_total{"):
                total += float(line.rsplit(" ", 1)[1])
        return int(total)

    def members(self, subgraph_id: str) -> list[str]:
        document = self.document(subgraph_id) or {"@graph": []}
        return sorted(
            n["kgx:name"]
            for n in document["@graph"]
            if n.get("@type") == "k8s:Node" and "kgx:name" in n
        )


def run_argv(config: Path, kubeconfig: Path) -> list[str]:
    """``kg-exporter run`` with a config file, against the cluster of ``kubeconfig``."""
    return [
        sys.executable,
        "-m",
        "kg_exporter.cli",
        "run",
        "--config",
        str(config),
        "--kubeconfig",
        str(kubeconfig),
    ]


class Daemon(Process):
    """``kg-exporter run --config FILE --kubeconfig FILE`` with fast retries for tests."""

    def __init__(
        self,
        kubeconfig: Path,
        sink_url: str,
        workdir: Path,
        *,
        settings: dict[str, Any] | None = None,
        **daemon: Any,
    ) -> None:
        """``daemon``: ``daemon.*`` settings over the fast test defaults; ``settings``: other
        top-level settings (``kinds``, ``namespaces``, …)."""
        port = free_port()
        config: dict[str, Any] = {
            **(settings or {}),
            "sink": {
                "url": sink_url,
                "timeout_seconds": 2.0,
                "max_attempts": 2,
                "backoff_initial_seconds": 0.1,
                "backoff_max_seconds": 0.5,
            },
            "daemon": {
                "listen": f"127.0.0.1:{port}",
                "retry_initial_seconds": 0.2,
                "retry_max_seconds": 2.0,
                "watch_backoff_initial_seconds": 0.1,
                "watch_backoff_max_seconds": 1.0,
                "sink_probe_interval_seconds": 1.0,
                "drain_deadline_seconds": 5.0,
                **daemon,
            },
        }
        config_path = workdir / f"daemon-{port}.yaml"
        config_path.write_text(yaml.safe_dump(config))
        super().__init__(
            "kg-exporter run",
            run_argv(config_path, kubeconfig),
            url=f"http://127.0.0.1:{port}",
            log=workdir / "daemon.log",
            ready_path="/readyz",
        )

    def metric(self, name: str, **labels: str) -> float | None:
        """The value of one series on its /metrics, None when absent."""
        wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        series = f"{name}{{{wanted}}}" if labels else name
        for line in httpx.get(self.url + "/metrics", timeout=30).text.splitlines():
            if line.startswith(series + " "):
                return float(line.rsplit(" ", 1)[1])
        return None

    def readyz(self, timeout: float = 2.0) -> int:
        """The status /readyz answers; 0 when it did not answer within ``timeout`` s (short by
        default, for samplers; a test asserting readiness passes a generous one)."""
        try:
            return httpx.get(self.url + "/readyz", timeout=timeout).status_code
        except httpx.HTTPError:
            return 0


def eventually(check: Callable[[], bool], *, within: float = 60.0, what: str = "") -> None:
    """Poll ``check`` until it holds. The default deadline is generous: it only matters when the
    check fails, and a machine busy with other work can take seconds to do what takes
    milliseconds when it is idle."""
    deadline = time.monotonic() + within
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (httpx.HTTPError, KeyError) as exc:
            last_error = exc
        time.sleep(0.05)
    raise AssertionError(f"not within {within} s: {what or check} (last error: {last_error!r})")
