"""Time to ready of ``kg-exporter run``: from the process start to the first 200 from /readyz,
against the fake API server (one running Deployment) and the reference Metadata Service.

    python bench/startup.py [--runs 5] [--repo DIR ...]

Each ``--repo`` is a checkout whose ``kg_exporter`` is run (the process starts in that folder, so
it imports that copy); several are measured in turn within each run, so a busy machine slows them
alike. Prints each repo's median and the runs. Also prints the import of ``kg_exporter.kinds``
alone (``python -c``), the part of start-up the daemon pays before any I/O.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from tests.daemon.objects import deployment  # noqa: E402
from tests.fakekube import FakeKube  # noqa: E402
from tests.support.processes import free_port, http_ok, running, wait_until  # noqa: E402


def time_to_ready(repo: Path, kubeconfig: Path, sink_url: str, workdir: Path) -> float:
    port = free_port()
    config = workdir / f"config-{port}.yaml"
    settings = {"sink": {"url": sink_url}, "daemon": {"listen": f"127.0.0.1:{port}"}}
    config.write_text(yaml.safe_dump(settings))
    argv = [sys.executable, "-m", "kg_exporter.cli", "run"]
    argv += ["--config", str(config), "--kubeconfig", str(kubeconfig)]
    with (workdir / f"daemon-{port}.log").open("wb") as log:
        began = time.monotonic()
        proc = subprocess.Popen(argv, cwd=repo, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until(
                lambda: http_ok(f"http://127.0.0.1:{port}/readyz"), timeout=120, what="ready"
            )
            return time.monotonic() - began
        finally:
            proc.terminate()
            proc.wait(30)


def import_time(repo: Path) -> float:
    began = time.monotonic()
    subprocess.run([sys.executable, "-c", "import kg_exporter.kinds"], cwd=repo, check=True)
    return time.monotonic() - began


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--repo", type=Path, action="append")
    args = parser.parse_args()
    repos: list[Path] = args.repo or [ROOT]
    ready: dict[Path, list[float]] = {r: [] for r in repos}
    imports: dict[Path, list[float]] = {r: [] for r in repos}
    with tempfile.TemporaryDirectory() as tmp, FakeKube() as fake:
        workdir = Path(tmp)
        fake.create(deployment("web"))
        fake.patch_status("Deployment", "default", "web", {"availableReplicas": 1})
        port = free_port()
        service = [sys.executable, "-m", "kg_exporter.service", "--store", ":memory:"]
        service += ["--listen", f"127.0.0.1:{port}"]
        url = f"http://127.0.0.1:{port}"
        with running(service, ready_url=f"{url}/healthz", log=workdir / "service.log"):
            for _ in range(args.runs):
                for repo in repos:
                    imports[repo].append(import_time(repo))
                    ready[repo].append(time_to_ready(repo, fake.kubeconfig_path, url, workdir))
    for repo in repos:
        print(
            f"{repo}: ready median {statistics.median(ready[repo]):.2f} s "
            f"({', '.join(f'{t:.2f}' for t in ready[repo])}); import kg_exporter.kinds median "
            f"{statistics.median(imports[repo]):.2f} s"
        )


if __name__ == "__main__":
    main()
