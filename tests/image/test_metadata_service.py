"""The reference Metadata Service from the image, as the overlay's StatefulSet runs it (store on a
mounted volume, token from the Secret), filled by `kg-exporter backfill --manifests examples/`
from the image; killed (SIGKILL: a node lost, an OOM kill) and started again on the same volume,
it serves the same subgraphs, and SIGTERM ends it with exit code 0."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLES
from tests.deploy.manifests import BASE, render
from tests.image.engine import Engine
from tests.image.pods import pod_spec, run_args

#: The first test to need the image may wait for its build (scripts/image.sh, 2-6 minutes).
pytestmark = [pytest.mark.image, pytest.mark.timeout(900)]


def rendered_here() -> list[str]:
    """The ids `kg-exporter render examples/` gives from the checkout (same cluster and
    glaciation node ids as deploy/base/config.yaml)."""
    result = subprocess.run(
        [sys.executable, "-m", "kg_exporter.cli", "render", str(EXAMPLES)],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return sorted(s["id"] for s in json.loads(result.stdout)["subgraphs"])


def test_backfill_into_the_service_which_keeps_its_data_across_a_kill(
    engine: Engine,
    start_service: Any,
    config_dir: Path,
    token_dir: Path,
    tmp_path: Path,
) -> None:
    store = tmp_path / "store"
    service = start_service(store)

    # A one-off pod of the Deployment's kind: its user, read-only root, config and token mounts.
    options, _ = run_args(
        pod_spec(render(BASE), "Deployment", "kg-exporter"),
        volumes={"config": config_dir, "templates": tmp_path / "none", "sink-token": token_dir},
        fields={"metadata.name": "backfill", "metadata.namespace": "kg-exporter"},
    )
    (tmp_path / "none").mkdir()
    backfill = engine.run(
        "run", "--rm", *options, "--volume", f"{EXAMPLES}:/examples:ro", engine.image,
        "backfill", "--manifests", "/examples", "--sink", service.url,
        "--config", "/etc/kg-exporter/config/config.yaml",
        timeout=300, check=False,
    )  # fmt: skip
    assert backfill.returncode == 0, backfill.stdout + backfill.stderr
    ids = service.ids()
    assert ids == rendered_here(), "the image wrote other subgraphs than the checkout renders"
    workloads = service.ids("cluster1:workload:")
    document = service.get(f"/subgraph/{workloads[0]}")

    service.container.signal("KILL")
    assert service.container.wait() == 137
    again = start_service(store)
    assert again.ids() == ids
    assert json.dumps(again.get(f"/subgraph/{workloads[0]}"), sort_keys=True) == json.dumps(
        document, sort_keys=True
    )
    again.container.signal("TERM")
    assert again.container.wait() == 0, again.container.logs()
