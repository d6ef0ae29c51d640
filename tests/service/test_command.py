"""``python -m kg_exporter.service`` / ``kg-exporter metadata-service``: arguments, exit codes."""

from __future__ import annotations

import argparse
import socket
from pathlib import Path

import pytest

from kg_exporter.service.__main__ import main
from kg_exporter.service.command import add_limit_arguments, limits_from, parse_listen
from tests.sink.servers import reference_service


@pytest.mark.parametrize(
    ("value", "pair"),
    [
        ("127.0.0.1:0", ("127.0.0.1", 0)),
        ("0.0.0.0:8080", ("0.0.0.0", 8080)),
        ("[::1]:9", ("::1", 9)),
    ],
)
def test_listen_addresses(value: str, pair: tuple[str, int]) -> None:
    assert parse_listen(value) == pair


@pytest.mark.parametrize("value", ["8080", ":8080", "host:", "host:http", "host:70000"])
def test_bad_listen_addresses(value: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_listen(value)


def test_an_unreadable_token_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--store", ":memory:", "--token-file", str(tmp_path / "none")]) == 2
    assert "token file" in capsys.readouterr().err


def test_an_address_in_use_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        assert main(["--store", ":memory:", "--listen", f"127.0.0.1:{port}"]) == 2
    assert "metadata-service:" in capsys.readouterr().err


def test_sigterm_stops_it_cleanly(tmp_path: Path) -> None:
    with reference_service(tmp_path / "store", log=tmp_path / "log") as server:
        server.process.terminate()
        assert server.process.wait(timeout=10) == 0
    assert "stopping" in (tmp_path / "log").read_text()


def test_a_limit_of_zero_exits_2_naming_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--store", ":memory:", "--query-seconds", "0"]) == 2
    assert "limit query_seconds must be > 0" in capsys.readouterr().err


def test_every_limit_is_a_flag() -> None:
    parser = argparse.ArgumentParser()
    add_limit_arguments(parser)
    limits = limits_from(parser.parse_args(["--max-triples", "7", "--parse-seconds", "1.5"]))
    assert (limits.max_triples, limits.parse_seconds) == (7, 1.5)
    assert limits.max_json_depth == 64  # the rest at their defaults
