"""The profile's settings and measurement configuration: wrong input is one clear error naming
what is wrong, before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kg_exporter.errors import SettingsError
from kg_exporter.glaciation.measurements import load_measurements, parse_measurements
from kg_exporter.settings import load_settings
from tests.daemon.test_cli_run import run_cli
from tests.fakekube import FakeKube
from tests.glaciation.peers import EXPORTER_CONFIG, require


def test_the_published_configuration_loads_unchanged() -> None:
    config = load_measurements(require(EXPORTER_CONFIG))
    assert len(config.node_queries) == 4 and len(config.pod_queries) == 5
    assert config.tick_seconds == 10
    properties = {q.property for q in (*config.node_queries, *config.pod_queries)}
    assert {"CPU.Available", "RAM.Usage", "Energy.Usage"} <= properties


def test_the_bundled_configuration_loads() -> None:
    config = load_measurements()
    assert config.node_queries and config.pod_queries
    assert all("{{now}}" in q.query for q in (*config.node_queries, *config.pod_queries))


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"unit": "bytes", "source": "x", "query": "up"}, "property must be a name"),
        ({"property": "A B", "unit": "bytes", "source": "x", "query": "up"}, "property must be"),
        ({"property": "P", "unit": "bytes", "source": "x"}, "query must be a non-empty string"),
        (
            {"property": "P", "unit": "b", "source": "x", "query": "up", "result_parser": "X"},
            "'X' is not supported",
        ),
        (
            {"property": "P", "unit": "b", "source": "x", "query": "up", "aggregation": {}},
            "period_seconds must be a positive integer",
        ),
    ],
)
def test_a_wrong_entry_is_named(entry: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError, match="node_queries\\[0\\]") as caught:
        parse_measurements({"builder": {"queries": {"node_queries": [entry]}}}, "f.yaml")
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("resource_base", "https://kubernetes.local", "must end with '/' or '#'"),
        ("workload_kinds", ["Deployment", "Rollout"], "unknown kinds ['Rollout']"),
        ("interval_seconds", 0, "greater than 0"),
        ("cluster_name", "a b", "letters, digits"),
    ],
)
def test_wrong_settings_name_the_field(
    field: str, value: object, message: str, tmp_path: Path
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"glaciation": {field: value}}))
    with pytest.raises(SettingsError) as caught:
        load_settings(config)
    assert f"glaciation.{field}" in str(caught.value) and message in str(caught.value)


def test_run_with_a_broken_measurement_file_exits_2_naming_it(tmp_path: Path) -> None:
    broken = tmp_path / "measurements.yaml"
    broken.write_text(
        yaml.safe_dump({"builder": {"queries": {"pod_queries": [{"property": "P"}]}}})
    )
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "daemon": {"listen": "127.0.0.1:0"},
                "glaciation": {"enabled": True, "measurements_file": str(broken)},
            }
        )
    )
    with FakeKube() as fake:
        result = run_cli("--config", str(config), "--kubeconfig", str(fake.kubeconfig_path))
    assert result.returncode == 2, result.stderr
    assert f"{broken}: pod_queries[0]: query must be a non-empty string" in result.stderr
    assert "Traceback" not in result.stderr
