"""What goes wrong, and the exit code it earns: bad input is listed and the rest still written
(1); a sink or cluster that cannot be reached, or a command line that makes no sense, is 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg_exporter.cli import main
from tests.backfill.conftest import RunBackfill, stored
from tests.sink.servers import reference_service
from tests.support.processes import free_port

GOOD = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
status: {availableReplicas: 1}
"""
BROKEN_YAML = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop
"""
NAMELESS = """\
apiVersion: batch/v1
kind: Job
metadata: {namespace: shop}
"""


def test_bad_input_is_listed_by_file_and_the_rest_is_still_written(
    run_backfill: RunBackfill, tmp_path: Path
) -> None:
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    (manifests / "a-good.yaml").write_text(GOOD)
    (manifests / "b-broken.yaml").write_text(BROKEN_YAML)
    (manifests / "c-nameless.yaml").write_text(NAMELESS)
    store = tmp_path / "store"
    run = run_backfill(
        "--manifests", str(manifests), str(tmp_path / "absent"), "--store", str(store)
    )
    assert run.code == 1
    failed = [line for line in run.err.splitlines() if line.startswith("failed: ")]
    assert len(failed) == 3
    assert f"failed: input: {manifests / 'b-broken.yaml'}:4: not valid YAML" in run.err
    assert (
        f"failed: {manifests / 'c-nameless.yaml'}:1: cannot render: Job without metadata.name"
        in run.err
    )
    assert f"failed: input: {tmp_path / 'absent'}: no such file or directory" in run.err
    # The good Deployment and the glaciation node were written all the same.
    assert "4 written, 0 unchanged, 2 failed; 2 input(s) unreadable" in run.out
    assert "workload-telemetry               1      1          0       1" in run.out
    assert set(stored(store)) == {
        "cluster1:workload:deployment:shop:web",
        "cluster1:workload-telemetry:deployment:shop:web",
        "cluster1:glaciation-node:glaciation-node1",
        "cluster1:glaciation-node-telemetry:glaciation-node1",
    }


def test_a_sink_that_is_down_is_a_connection_error(
    run_backfill: RunBackfill, tmp_path: Path
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    run = run_backfill(
        "--manifests", str(tmp_path), "--sink", url, config={"sink": {"max_attempts": 1}}
    )
    assert run.code == 2
    assert "kg-exporter backfill: cannot use the sink: GET cluster1:glaciation-node:" in run.err
    assert "failed after 1 attempts: ConnectError" in run.err
    assert "in the graph now" not in run.out  # nothing to show from a sink that is not there


def test_a_sink_that_refuses_our_token_is_a_connection_error(
    run_backfill: RunBackfill, tmp_path: Path
) -> None:
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    with reference_service(":memory:", log=tmp_path / "service.log", token_file=token) as service:
        run = run_backfill("--manifests", str(tmp_path), "--sink", service.url)
    assert run.code == 2
    assert "cannot use the sink: HTTP 401: unauthorized" in run.err


def test_a_store_a_service_is_serving_is_refused_clearly(
    run_backfill: RunBackfill, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    with reference_service(store, log=tmp_path / "service.log"):
        run = run_backfill("--manifests", str(tmp_path), "--store", str(store))
    assert run.code == 2
    assert f"cannot open the store {store}: another process has it open" in run.err
    assert "--sink URL" in run.err


def test_an_unreachable_cluster_is_a_connection_error(
    run_backfill: RunBackfill, tmp_path: Path
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        f"""\
apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "http://127.0.0.1:{free_port()}"}}}}]
users: [{{name: u, user: {{token: t}}}}]
contexts: [{{name: x, context: {{cluster: c, user: u}}}}]
current-context: x
"""
    )
    run = run_backfill("--kubeconfig", str(kubeconfig), "--store", str(tmp_path / "store"))
    assert run.code == 2
    assert "kg-exporter backfill: cannot reach the Kubernetes API:" in run.err
    assert not (tmp_path / "store").exists()  # nothing is opened before the cluster answers


def test_a_kubeconfig_that_cannot_be_read_is_a_connection_error(
    run_backfill: RunBackfill, tmp_path: Path
) -> None:
    run = run_backfill("--kubeconfig", str(tmp_path / "absent"), "--store", str(tmp_path / "s"))
    assert run.code == 2
    assert "cannot list the cluster: cannot load Kubernetes credentials from" in run.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dry-run"], "--dry-run needs --out DIR"),
        (["--out", "x"], "--out is only for --dry-run"),
        (["--dry-run", "--out", "x", "--store", "s"], "--dry-run writes files"),
        (["--concurrency", "0"], "--concurrency must be at least 1"),
        (["--sink", "not a url"], "--sink 'not a url': Input should be a valid URL"),
    ],
)
def test_options_that_make_no_sense_are_usage_errors(
    run_backfill: RunBackfill, tmp_path: Path, args: list[str], message: str
) -> None:
    run = run_backfill("--manifests", str(tmp_path), *args)
    assert run.code == 2
    assert message in run.err


@pytest.mark.parametrize(
    "args",
    [
        ["--manifests", "m", "--kubeconfig", "k"],
        ["--manifests", "m", "--sink", "http://x", "--store", "s"],
    ],
)
def test_exclusive_options_are_refused_by_the_parser(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["backfill", *args])
    assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_a_bad_setting_is_a_usage_error(run_backfill: RunBackfill, tmp_path: Path) -> None:
    run = run_backfill("--manifests", str(tmp_path), config={"rate_window": "soon"})
    assert run.code == 2
    assert "setting 'rate_window'" in run.err
