"""Reading telemetry from the Metadata Service by what it is about, through a :class:`Sink`.

Any sink reads: the ``/subgraph`` API (default), a SPARQL Graph Store, the GLACIATION v0 API, or
the embedded store a backfill wrote (:func:`~kg_exporter.backfill.embedded.open_store`). Ids are
computed from identity exactly as the writers compute them (:mod:`kg_exporter.identity`), so
``workload_telemetry("cluster1", "Deployment", "shop", "web")`` finds what the daemon or a backfill
wrote for that Deployment.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote

import httpx
from pydantic import ValidationError

from kg_exporter.errors import SettingsError
from kg_exporter.identity import (
    ObjectKey,
    SubgraphKind,
    encode_segment,
    glaciation_node_subgraph_id,
    node_subgraph_id,
    workload_subgraph_id,
)
from kg_exporter.kinds import KindRegistry, bundled_registry
from kg_exporter.read.model import Telemetry
from kg_exporter.read.parse import parse_telemetry
from kg_exporter.settings import Settings, SinkSettings
from kg_exporter.sink import Sink, open_sink


class MetadataClient:
    """Typed reads of what the Metadata Service holds. Use as ``async with``, or call
    :meth:`aclose`; the sink is closed with it when the client made it (``connect``)."""

    def __init__(
        self, sink: Sink, *, owns_sink: bool = False, kinds: KindRegistry | None = None
    ) -> None:
        self.sink = sink
        self._owns_sink = owns_sink
        #: Workload kinds to recognise in subgraph ids (default: the bundled ones).
        self.kinds = kinds if kinds is not None else bundled_registry()

    @classmethod
    def connect(
        cls,
        url: str,
        *,
        kind: str = "subgraph",
        token_file: Path | None = None,
        client: httpx.AsyncClient | None = None,
        **sink_settings: Any,
    ) -> MetadataClient:
        """A client of the Metadata Service at ``url``. ``kind`` is the API it speaks
        (``subgraph``, ``graph-store`` or ``glaciation``); further keyword arguments are
        :class:`~kg_exporter.settings.SinkSettings` fields (``timeout_seconds``, ``max_attempts``,
        ``ca_bundle``, ...). Raises :class:`~kg_exporter.errors.SettingsError` on a bad value."""
        settings = _sink_settings(
            {"kind": kind, "url": url, "token_file": token_file, **sink_settings}
        )
        return cls(open_sink(settings, client=client), owns_sink=True)

    @classmethod
    def from_settings(
        cls, settings: Settings | SinkSettings, *, client: httpx.AsyncClient | None = None
    ) -> MetadataClient:
        """A client of the sink the product's settings name (``settings.sink``)."""
        sink_settings = settings.sink if isinstance(settings, Settings) else settings
        return cls(open_sink(sink_settings, client=client), owns_sink=True)

    async def subgraph(self, subgraph_id: str) -> dict[str, Any] | None:
        """The stored JSON-LD document of ``subgraph_id``; None when there is none."""
        return await self.sink.get(subgraph_id)

    async def telemetry(self, subgraph_id: str) -> Telemetry | None:
        """The telemetry subgraph ``subgraph_id``, parsed; None when there is none.
        :class:`~kg_exporter.errors.TelemetryParseError` when it is not telemetry."""
        document = await self.sink.get(subgraph_id)
        return None if document is None else parse_telemetry(document)

    async def workload_telemetry(
        self, cluster: str, kind: str, namespace: str, name: str
    ) -> Telemetry | None:
        """Telemetry of the workload ``kind`` (Deployment, StatefulSet, Job) ``namespace/name``."""
        key = ObjectKey(kind, namespace, name)
        return await self.telemetry(workload_subgraph_id(cluster, key, telemetry=True))

    async def node_telemetry(self, cluster: str, node: str) -> Telemetry | None:
        """Telemetry of the Kubernetes node ``node``."""
        return await self.telemetry(node_subgraph_id(cluster, node, telemetry=True))

    async def glaciation_node_telemetry(
        self, cluster: str, glaciation_node_id: str
    ) -> Telemetry | None:
        """Telemetry of the whole cluster as the GLACIATION node ``glaciation_node_id``."""
        return await self.telemetry(
            glaciation_node_subgraph_id(cluster, glaciation_node_id, telemetry=True)
        )

    async def workloads(self, cluster: str) -> list[ObjectKey]:
        """The workloads of ``cluster`` that have a telemetry subgraph, sorted by id (what a
        poller walks). Workloads whose name was too long to keep in the id are left out: their
        id holds a digest, not the name."""
        prefix = f"{encode_segment(cluster)}:{SubgraphKind.WORKLOAD_TELEMETRY.value}:"
        keys = []
        for subgraph_id in await self.sink.list(prefix):
            key = _workload_key(subgraph_id[len(prefix) :], self.kinds)
            if key is not None:
                keys.append(key)
        return keys

    async def nodes(self, cluster: str) -> list[str]:
        """Names of the nodes of ``cluster`` that have a telemetry subgraph, sorted by id."""
        prefix = f"{encode_segment(cluster)}:{SubgraphKind.NODE_TELEMETRY.value}:"
        names = (_component(rest) for rest in _rests(await self.sink.list(prefix), prefix))
        return [name for name in names if name is not None]

    async def aclose(self) -> None:
        if self._owns_sink:
            await self.sink.aclose()

    async def __aenter__(self) -> MetadataClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


def _sink_settings(values: dict[str, Any]) -> SinkSettings:
    try:
        return SinkSettings.model_validate({k: v for k, v in values.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise SettingsError(f"Metadata Service settings: {problems}") from exc


def _rests(ids: list[str], prefix: str) -> list[str]:
    return [i[len(prefix) :] for i in ids if i.startswith(prefix)]


def _component(encoded: str) -> str | None:
    """One id component decoded; None when it was shortened to a digest (see identity)."""
    if ":" in encoded or "~" in encoded:
        return None  # Kubernetes names hold no '~': only a shortened component does
    return unquote(encoded)


def _workload_key(rest: str, kinds: KindRegistry) -> ObjectKey | None:
    parts = rest.split(":")
    if len(parts) != 3:
        return None
    kind = kinds.by_lower(unquote(parts[0]))
    namespace, name = _component(parts[1]), _component(parts[2])
    if kind is None or namespace is None or name is None:
        return None
    return ObjectKey(kind, namespace, name)
