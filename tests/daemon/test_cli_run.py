"""`kg-exporter run` as a command: usage, and the errors that stop it before it starts."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from tests.fakekube import FakeKube


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``kg-exporter run ARGS`` to its end; ``timeout`` generous: it only matters when the command
    hangs, and a start on a loaded 2-core machine took over 30 s (measured under two CPU hogs)."""
    return subprocess.run(
        [sys.executable, "-m", "kg_exporter.cli", "run", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_help_names_the_options() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    assert "--kubeconfig FILE" in result.stdout and "--config FILE" in result.stdout


def test_unusable_credentials_exit_2_with_a_message(tmp_path: Path) -> None:
    result = run_cli("--kubeconfig", str(tmp_path / "missing"))
    assert result.returncode == 2
    assert "cannot load Kubernetes credentials" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_taken_listen_address_exits_2_with_a_message(fake_kube: FakeKube, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "config.yaml"
        config.write_text(
            f"daemon:\n  listen: 127.0.0.1:{port}\nsink:\n  url: http://127.0.0.1:9\n"
        )
        result = run_cli("--config", str(config), "--kubeconfig", str(fake_kube.kubeconfig_path))
    assert result.returncode == 2, result.stderr
    assert "setting 'daemon.listen': cannot listen on 127.0.0.1:" in result.stderr
    assert "Traceback" not in result.stderr
