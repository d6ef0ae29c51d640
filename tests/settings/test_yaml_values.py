"""A YAML value its tag cannot hold, or nesting past Python's stack, in any file or cluster text
kg-exporter reads: a clear error naming the file (a fallback for cluster data), never a traceback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kg_exporter.errors import SettingsError
from kg_exporter.glaciation.measurements import load_measurements
from kg_exporter.glaciation.project import UNKNOWN_CLUSTER, cluster_name_of
from kg_exporter.kinds.registry import read_kinds_file
from kg_exporter.settings import load_settings

BAD = {
    "impossible date": "x: 2001-02-30\n",
    "int tag on a word": "x: !!int twelve\n",
    "deep nesting": "x: " + "[" * 20_000 + "]" * 20_000 + "\n",
}


READERS = {
    "settings file": (load_settings, "{path}.* is not valid YAML"),
    "kinds file": (read_kinds_file, "kinds file {path} is not valid YAML"),
    "measurement configuration": (load_measurements, "measurement configuration {path} is not"),
}


@pytest.mark.parametrize("reader", READERS.values(), ids=READERS.keys())
@pytest.mark.parametrize("text", BAD.values(), ids=BAD.keys())
def test_files(tmp_path: Path, text: str, reader: tuple[Callable[[Path], object], str]) -> None:
    read, message = reader
    path = tmp_path / "file.yaml"
    path.write_text(text)
    with pytest.raises(SettingsError, match=message.format(path=path)):
        read(path)


@pytest.mark.parametrize("text", BAD.values(), ids=BAD.keys())
def test_kubeadm_config_of_the_cluster(text: str) -> None:
    config_map = {"data": {"ClusterConfiguration": "clusterName: prod\n" + text}}
    assert cluster_name_of(config_map) == UNKNOWN_CLUSTER
