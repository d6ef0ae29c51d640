"""How tests start a daemon that may elect a leader."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def runtime_wires_leader_election() -> bool:
    """Whether `kg-exporter run` itself elects (its runtime calls run_while_leading)."""
    sources = [
        *(REPO / "kg_exporter" / "runtime").glob("*.py"),
        REPO / "kg_exporter" / "commands" / "run.py",
    ]
    return any("run_while_leading" in p.read_text() for p in sources if p.exists())


def daemon_argv(kubeconfig: Path, config: Path) -> list[str]:
    """`kg-exporter run` once it wires leader election; until then the same Daemon composed with
    the elector by tests/leader/leading_daemon.py."""
    if runtime_wires_leader_election():
        argv = [sys.executable, "-m", "kg_exporter.cli", "run"]
    else:
        argv = [sys.executable, "-m", "tests.leader.leading_daemon"]
    return [*argv, "--kubeconfig", str(kubeconfig), "--config", str(config)]
