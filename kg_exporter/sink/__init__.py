"""Where rendered subgraphs go: one :class:`Sink` interface, three implementations.

- :class:`SubgraphApiSink` — the Metadata Service ``/subgraph`` API (default, ``kind: subgraph``);
- :class:`GraphStoreSink` — any SPARQL 1.1 Graph Store (``kind: graph-store``);
- :class:`GlaciationSink` — the GLACIATION Metadata Service v0 API (``kind: glaciation``).

:func:`open_sink` builds the one the settings name. Retries, auth and TLS live in
:class:`SinkClient`, shared by all three.

Names are imported on first use: the Metadata Service's worker processes use
:mod:`kg_exporter.sink.ids` and :mod:`kg_exporter.sink.jsonld` without the HTTP client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kg_exporter.lazy import lazy_attributes

if TYPE_CHECKING:
    from kg_exporter.sink.backoff import Backoff, parse_retry_after
    from kg_exporter.sink.base import PutOutcome, Sink
    from kg_exporter.sink.batching import BatchingSink
    from kg_exporter.sink.factory import open_sink
    from kg_exporter.sink.glaciation import GlaciationSink
    from kg_exporter.sink.graph_store import GraphStoreSink, sibling_query_url
    from kg_exporter.sink.http import SinkClient, make_http_client
    from kg_exporter.sink.subgraph_api import SubgraphApiSink
    from kg_exporter.sink.token import TokenFile

_LAZY = {
    "Backoff": "kg_exporter.sink.backoff",
    "parse_retry_after": "kg_exporter.sink.backoff",
    "PutOutcome": "kg_exporter.sink.base",
    "Sink": "kg_exporter.sink.base",
    "BatchingSink": "kg_exporter.sink.batching",
    "open_sink": "kg_exporter.sink.factory",
    "GlaciationSink": "kg_exporter.sink.glaciation",
    "GraphStoreSink": "kg_exporter.sink.graph_store",
    "sibling_query_url": "kg_exporter.sink.graph_store",
    "SinkClient": "kg_exporter.sink.http",
    "make_http_client": "kg_exporter.sink.http",
    "SubgraphApiSink": "kg_exporter.sink.subgraph_api",
    "TokenFile": "kg_exporter.sink.token",
}

__all__ = [
    "Backoff",
    "BatchingSink",
    "GlaciationSink",
    "GraphStoreSink",
    "PutOutcome",
    "Sink",
    "SinkClient",
    "SubgraphApiSink",
    "TokenFile",
    "make_http_client",
    "open_sink",
    "parse_retry_after",
    "sibling_query_url",
]


def __getattr__(name: str) -> Any:
    return _attribute(name)


_attribute = lazy_attributes(__name__, _LAZY, globals())
