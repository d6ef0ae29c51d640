"""Where rendered subgraphs go: one :class:`Sink` interface, three implementations.

- :class:`SubgraphApiSink` — the Metadata Service ``/subgraph`` API (default, ``kind: subgraph``);
- :class:`GraphStoreSink` — any SPARQL 1.1 Graph Store (``kind: graph-store``);
- :class:`GlaciationSink` — the GLACIATION Metadata Service v0 API (``kind: glaciation``).

:func:`open_sink` builds the one the settings name. Retries, auth and TLS live in
:class:`SinkClient`, shared by all three.
"""

from kg_exporter.sink.backoff import Backoff, parse_retry_after
from kg_exporter.sink.base import PutOutcome, Sink
from kg_exporter.sink.batching import BatchingSink
from kg_exporter.sink.factory import open_sink
from kg_exporter.sink.glaciation import GlaciationSink
from kg_exporter.sink.graph_store import GraphStoreSink, sibling_query_url
from kg_exporter.sink.http import SinkClient, make_http_client
from kg_exporter.sink.subgraph_api import SubgraphApiSink
from kg_exporter.sink.token import TokenFile

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
