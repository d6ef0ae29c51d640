"""After a backfill: what the graph now holds, read back through the sink with the library's own
reader — counts per subgraph kind, and for one workload where its telemetry lives (the Prometheus
queries, the Loki selector, the dashboards), so a first run shows what the product is for."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from kg_exporter.errors import KgExporterError
from kg_exporter.identity import ObjectKey, SubgraphKind, encode_segment, workload_subgraph_id
from kg_exporter.kinds import NODE_KIND
from kg_exporter.read.metadata import MetadataClient
from kg_exporter.read.model import Telemetry
from kg_exporter.sink import Sink


async def describe_graph(
    sink: Sink, cluster: str, keys: Iterable[ObjectKey], *, failed: set[str]
) -> list[str]:
    """Lines describing what ``sink`` holds for ``cluster``; the example workload is the first
    of ``keys`` whose telemetry was written (not in ``failed``)."""
    ids = await sink.list(f"{encode_segment(cluster)}:")
    counts = Counter(i.split(":")[1] for i in ids if i.count(":") >= 2)
    lines = [f"in the graph now for cluster {cluster}: {len(ids)} subgraphs"]
    lines += [f"  {kind.value:<27} {counts[kind.value]:>6}" for kind in SubgraphKind]
    example = _example(cluster, keys, failed)
    if example is None:
        return lines
    key, telemetry_id = example
    try:
        telemetry = await MetadataClient(sink).telemetry(telemetry_id)
    except KgExporterError as exc:
        return [*lines, f"cannot read back {telemetry_id}: {exc}"]
    if telemetry is not None:
        lines += ["", f"where the telemetry of {key} lives ({telemetry_id}):"]
        lines += describe_telemetry(telemetry)
    return lines


def describe_telemetry(telemetry: Telemetry) -> list[str]:
    """Telemetry as indented text: Prometheus and each metric's unit and PromQL, Loki and LogQL,
    dashboards."""
    lines = []
    for dataset in telemetry.metrics_datasets:
        lines.append(f"  Prometheus {dataset.prometheus_url}")
        width = max((len(m.name) for m in dataset.metrics), default=0)
        for metric in dataset.metrics:
            unit = f"[{metric.unit_label}]" if metric.unit_label else ""
            lines.append(f"    {metric.name:<{width}} {unit:<6} {metric.promql}")
    for logs in telemetry.logs_datasets:
        lines.append(f"  Loki {logs.loki_url}")
        lines.append(f"    {logs.logql}")
    if telemetry.dashboards:
        lines.append("  Grafana dashboards")
        lines += [f"    {url}" for url in telemetry.dashboards]
    return lines


def _example(
    cluster: str, keys: Iterable[ObjectKey], failed: set[str]
) -> tuple[ObjectKey, str] | None:
    for key in keys:
        if key.kind == NODE_KIND:
            continue
        telemetry_id = workload_subgraph_id(cluster, key, telemetry=True)
        if telemetry_id not in failed:
            return key, telemetry_id
    return None
