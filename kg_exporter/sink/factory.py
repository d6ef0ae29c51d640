"""Choosing and building the sink that ``SinkSettings.kind`` names."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from kg_exporter.resources import context as product_context
from kg_exporter.settings import SinkSettings
from kg_exporter.sink.backoff import Backoff
from kg_exporter.sink.base import Sink
from kg_exporter.sink.batching import BatchingSink
from kg_exporter.sink.glaciation import GlaciationSink
from kg_exporter.sink.glaciation_api import KEEPALIVE_SECONDS
from kg_exporter.sink.graph_store import GraphStoreSink
from kg_exporter.sink.http import SinkClient, Sleep, make_wire
from kg_exporter.sink.jsonld import Compactor
from kg_exporter.sink.subgraph_api import SubgraphApiSink
from kg_exporter.sink.token import TokenFile
from kg_exporter.sink.wire import HttpxWire, Wire


def open_sink(
    settings: SinkSettings,
    *,
    client: httpx.AsyncClient | None = None,
    sleep: Sleep = asyncio.sleep,
    rng: Callable[[], float] = random.random,
    clock: Callable[[], float] = time.time,
    context: Mapping[str, Any] | None = None,
    ntriples_batches: bool = False,
) -> Sink:
    """The sink ``settings`` describe, sending through ``client`` (a caller's pooled client, left
    open by the sink's ``aclose``). Without one, the sink has connections of its own (aiohttp's
    client directly, the leanest per request: see :mod:`kg_exporter.sink.wire`), closed by its
    ``aclose``.

    An injected client is used as it is for TLS (``ca_bundle`` is applied only to connections made
    here, see :func:`~kg_exporter.sink.http.make_wire`); timeouts, token and retries apply
    either way. ``sleep``, ``rng`` and ``clock`` drive the retry waits (tests pass fakes);
    ``context`` is what read-back documents are compacted with (default: the product's).
    ``ntriples_batches``: a ``subgraph`` sink's batches carry N-Triples (see
    :class:`~kg_exporter.sink.subgraph_api.SubgraphApiSink`). Raises
    :class:`~kg_exporter.errors.SettingsError` when the token file or CA bundle is unusable.
    """
    token = TokenFile(settings.token_file) if settings.token_file is not None else None
    wire: Wire
    if client is not None:
        wire = HttpxWire(client)
    elif settings.kind == "glaciation":
        # Its uvicorn closes idle connections after 5 s: never reuse one that long (see
        # make_wire); it answers one request at a time, so few connections are needed.
        wire = make_wire(settings, max_connections=4, keepalive_seconds=KEEPALIVE_SECONDS)
    else:
        wire = make_wire(settings)
    sink_client = SinkClient(
        wire,
        backoff=Backoff.from_settings(settings),
        timeout_seconds=settings.timeout_seconds,
        token=token,
        owns_client=client is None,
        sleep=sleep,
        rng=rng,
        clock=clock,
    )
    url = str(settings.url)
    compactor = Compactor(product_context() if context is None else context)
    if settings.kind == "graph-store":
        store = GraphStoreSink(
            sink_client,
            url,
            query_url=str(settings.query_url) if settings.query_url is not None else None,
            update_url=str(settings.update_url) if settings.update_url is not None else None,
            compactor=compactor,
        )
        return (
            BatchingSink(store, max_batch=settings.batch_max) if settings.batch_max > 1 else store
        )
    if settings.kind == "glaciation":
        # The GLACIATION service answers one request at a time, each a snapshot of one graph.
        return GlaciationSink(sink_client, url, compactor=compactor)
    api = SubgraphApiSink(sink_client, url, ntriples=ntriples_batches)
    if settings.batch_max > 1:
        return BatchingSink(api, max_batch=settings.batch_max)
    return api
