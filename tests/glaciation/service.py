"""The published GLACIATION Metadata Service as a separate process, started with its own
``run.sh PORT STORE_DIR`` (which installs its pinned dependencies into a virtualenv once), and
queried through its own API the way the platform's readers query it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.glaciation.peers import METADATA_SERVICE, require
from tests.support.processes import free_port, http_ok, wait_until

#: First start on a fresh machine installs its dependencies (~30 s); later ones take ~2 s.
START_TIMEOUT = 240.0


class GlaciationService:
    def __init__(self, url: str) -> None:
        self.url = url

    def select(self, query: str) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.url}/api/v0/graph", params={"query": query}, timeout=30)
        response.raise_for_status()
        rows: list[dict[str, Any]] = response.json()["results"]["bindings"]
        return rows

    def snapshot_graphs(self) -> dict[str, int]:
        """The ``^timestamp:`` graphs and their timestamps, as the readers select them."""
        rows = self.select(
            'SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } FILTER regex(str(?g), "^timestamp:") }'
        )
        return {r["g"]["value"]: int(r["g"]["value"].split(":", 1)[1]) for r in rows}

    def patch(self, body: dict[str, Any]) -> str:
        response = httpx.patch(f"{self.url}/api/v0/graph", json=body, timeout=60)
        response.raise_for_status()
        return str(response.json())


@contextlib.contextmanager
def running_service(workdir: Path) -> Iterator[GlaciationService]:
    script = require(METADATA_SERVICE)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (workdir / "glaciation-metadata-service.log").open("wb")
    # Its own session: uvicorn may fork, and the whole group is stopped by our process id.
    process = subprocess.Popen(
        ["bash", str(script), str(port), str(workdir / "store")],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_until(
            lambda: process.poll() is None and http_ok(f"{url}/docs"),
            timeout=START_TIMEOUT,
            what="the GLACIATION Metadata Service",
        )
        yield GlaciationService(url)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()
