"""A real Prometheus (Debian's package) for tests: proves our PromQL parses and executes."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

from tests.support.processes import free_port, require_binary, running

INSTALL_HINT = (
    "apt-get install -y --no-install-recommends prometheus; tests that need it skip without it"
)


@dataclass(frozen=True)
class Prometheus:
    url: str

    def query(self, promql: str) -> dict:  # type: ignore[type-arg]
        """The /api/v1/query answer as JSON, whatever its status (400 bad_data included)."""
        response = httpx.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=10)
        return response.json()  # type: ignore[no-any-return]

    def query_at(self, promql: str, time: float) -> list[dict]:  # type: ignore[type-arg]
        """The result vector of ``promql`` evaluated at ``time`` (Unix seconds)."""
        response = httpx.get(
            f"{self.url}/api/v1/query", params={"query": promql, "time": f"{time:.3f}"}, timeout=10
        )
        response.raise_for_status()
        return response.json()["data"]["result"]  # type: ignore[no-any-return]


@contextlib.contextmanager
def start_prometheus(
    workdir: Path, scrape_targets: list[str] | None = None
) -> Iterator[Prometheus]:
    binary = require_binary("prometheus", INSTALL_HINT)
    port = free_port()
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            {"job_name": "test", "static_configs": [{"targets": scrape_targets or []}]}
        ],
    }
    config_file = workdir / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config))
    url = f"http://127.0.0.1:{port}"
    argv = [
        binary,
        f"--config.file={config_file}",
        f"--storage.tsdb.path={workdir / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--web.enable-lifecycle",
    ]
    with running(argv, ready_url=f"{url}/-/ready", log=workdir / "prometheus.log"):
        yield Prometheus(url)
