"""The measurement configuration: which PromQL gives which measurement of a node or a pod.

The format is the published GLACIATION exporter's (its ``config.yaml``), so a platform's existing
file works unchanged; only ``builder.queries`` is read (and ``builder.builder_tick_seconds`` is
reported, the interval itself is our setting)::

    builder:
      queries:
        node_queries:
          - measurement_id: Available      # informational
            subresource: CPU               # optional: the node's CPU sub-resource carries it
            source: NodeExporter           # the glc:MeasuringResource that "makes" it
            unit: Core                     # glc:Core
            property: CPU.Available        # glc:CPU.Available, and the measurement's description
            aggregation: {period_seconds: 300, function: average}   # optional
            query: label_replace(... @{{now}}, "resource", "$1", "node", "(.+)")
            result_parser: PROMETHEUS_PARSER
        pod_queries: [...]

``{{now}}`` in a query is the evaluation time in Unix seconds; each result's ``resource`` label
names the node (node queries) or ``<namespace>.<pod>`` (pod queries).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kg_exporter import resources
from kg_exporter.errors import SettingsError
from kg_exporter.yamltext import safe_load

#: The only parser of the published format: an instant vector whose ``resource`` label names it.
PROMETHEUS_PARSER = "PROMETHEUS_PARSER"
#: Unit, property, source and sub-resource names become IRIs (``glc:<name>``) and id parts.
_TOKEN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass(frozen=True, slots=True)
class Aggregation:
    period_seconds: int
    function: str


@dataclass(frozen=True, slots=True)
class MeasurementQuery:
    """One entry of ``node_queries`` or ``pod_queries``."""

    measurement_id: str
    property: str
    unit: str
    source: str
    query: str
    subresource: str | None = None
    aggregation: Aggregation | None = None

    def promql(self, now_seconds: float) -> str:
        """The query with ``{{now}}`` replaced by the evaluation time."""
        return self.query.replace("{{now}}", f"{now_seconds:.3f}")


@dataclass(frozen=True, slots=True)
class MeasurementConfig:
    node_queries: tuple[MeasurementQuery, ...]
    pod_queries: tuple[MeasurementQuery, ...]
    #: The file's ``builder_tick_seconds``, when it says one.
    tick_seconds: float | None = None


def bundled_measurements_file() -> Path:
    return resources.templates_dir() / "glaciation" / "measurements.yaml"


def load_measurements(path: Path | None = None) -> MeasurementConfig:
    """Read and check a measurement configuration; :class:`SettingsError` naming the file and the
    entry when something is wrong."""
    path = path if path is not None else bundled_measurements_file()
    try:
        data = safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"cannot read measurement configuration {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise SettingsError(f"measurement configuration {path} is not valid YAML: {exc}") from exc
    return parse_measurements(data, str(path))


def parse_measurements(
    data: object, source: str = "measurement configuration"
) -> MeasurementConfig:
    builder = data.get("builder") if isinstance(data, dict) else None
    if not isinstance(builder, dict) or not isinstance(builder.get("queries"), dict):
        raise SettingsError(f"{source}: expected a mapping with builder.queries")
    queries = builder["queries"]
    tick = builder.get("builder_tick_seconds")
    return MeasurementConfig(
        node_queries=_entries(queries.get("node_queries"), f"{source}: node_queries"),
        pod_queries=_entries(queries.get("pod_queries"), f"{source}: pod_queries"),
        tick_seconds=float(tick) if isinstance(tick, int | float) else None,
    )


def _entries(value: object, where: str) -> tuple[MeasurementQuery, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise SettingsError(f"{where} must be a list")
    return tuple(_entry(item, f"{where}[{index}]") for index, item in enumerate(value))


def _entry(item: object, where: str) -> MeasurementQuery:
    if not isinstance(item, dict):
        raise SettingsError(f"{where} must be a mapping")
    parser = item.get("result_parser", PROMETHEUS_PARSER)
    if parser != PROMETHEUS_PARSER:
        raise SettingsError(
            f"{where}: result_parser {parser!r} is not supported (only {PROMETHEUS_PARSER})"
        )
    query = item.get("query")
    if not isinstance(query, str) or not query.strip():
        raise SettingsError(f"{where}: query must be a non-empty string")
    names = {key: _token(item, key, where) for key in ("property", "unit", "source")}
    subresource = item.get("subresource")
    if subresource is not None:
        subresource = _token(item, "subresource", where)
    return MeasurementQuery(
        measurement_id=str(item.get("measurement_id", names["property"])),
        query=query.strip(),
        subresource=subresource,
        aggregation=_aggregation(item.get("aggregation"), where),
        **names,
    )


def _token(item: dict[str, Any], key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not _TOKEN.match(value):
        raise SettingsError(
            f"{where}: {key} must be a name of letters, digits, '.', '_' or '-' (it becomes an "
            f"IRI), not {value!r}"
        )
    return value


def _aggregation(value: object, where: str) -> Aggregation | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise SettingsError(f"{where}: aggregation must be a mapping")
    period, function = value.get("period_seconds"), value.get("function")
    if not isinstance(period, int) or isinstance(period, bool) or period <= 0:
        raise SettingsError(f"{where}: aggregation.period_seconds must be a positive integer")
    if not isinstance(function, str) or not _TOKEN.match(function):
        raise SettingsError(f"{where}: aggregation.function must be a name such as average")
    return Aggregation(period, function)
