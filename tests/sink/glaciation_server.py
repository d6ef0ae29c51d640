"""A stand-in for the GLACIATION Metadata Service v0 API that behaves as contracts.md records it
(read from its published source, versions 0.x-2.0), on an in-memory pyoxigraph store:

- ``PATCH /api/v0/graph``: a JSON object, else 422 (FastAPI's validation error); the top-level
  ``@id`` (plus ``/`` unless it ends with one) + ``timestamp:<server ms>`` becomes the named graph,
  so every PATCH *appends* a snapshot; 0 triples → 400; 200 with a JSON string on success.
- ``GET /api/v0/graph?query=``: SPARQL SELECT → ``{"head": {"vars"}, "results": {"bindings"}}``;
  the store's default graph is the real (empty) default graph, so data is found only inside
  ``GRAPH ?g { ... }``. Invalid → 400 ``{"detail": ...}``.
- ``POST /api/v0/graph/update``: exactly ``{"query": str}`` else 400; the query is split on
  ``DROP GRAPH <...>;?`` and each part run on its own, as the service does.

Run as ``python -m tests.sink.glaciation_server --listen 127.0.0.1:0``; prints
``listening on http://HOST:PORT`` when ready.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
import socket
import time
from typing import Any

import pyoxigraph as ox
from aiohttp import web

_DROP = re.compile(r"DROP GRAPH <.*?>;?")


def create_app(store: ox.Store | None = None) -> web.Application:
    store = store if store is not None else ox.Store()
    app = web.Application()

    async def patch(request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.read())
        except ValueError:
            return _detail(422, [{"type": "json_invalid", "msg": "JSON decode error"}])
        if not isinstance(body, dict):
            return _detail(
                422, [{"type": "dict_type", "msg": "Input should be a valid dictionary"}]
            )
        graph_name = ""
        if "@id" in body:
            graph_name = str(body["@id"])
            if not graph_name.endswith("/"):
                graph_name += "/"
        graph_name += f"timestamp:{int(time.time() * 1000)}"
        body["@id"] = graph_name
        try:
            quads = list(ox.parse(json.dumps(body), format=ox.RdfFormat.JSON_LD))
        except SyntaxError as exc:
            return _detail(500, str(exc))
        if not quads:
            return _detail(400, "No triples could be extracted from JSON-LD.")
        store.extend(quads)
        return web.json_response(
            f"Success - Inserted {len(quads)} triple(s) into graph <{graph_name}>."
        )

    async def search(request: web.Request) -> web.Response:
        query = request.query.get("query", "")
        try:
            result = store.query(query)
        except SyntaxError as exc:
            return _detail(400, f"Syntax error in query: {exc}")
        if not isinstance(result, ox.QuerySolutions):
            return _detail(500, "Expected a SELECT query")
        return web.Response(
            body=result.serialize(format=ox.QueryResultsFormat.JSON),
            content_type="application/json",
        )

    async def update(request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.read())
        except ValueError:
            return _detail(422, [{"type": "json_invalid", "msg": "JSON decode error"}])
        if (
            not isinstance(body, dict)
            or set(body) != {"query"}
            or not isinstance(body["query"], str)
        ):
            return _detail(400, "Request must contain only {'query': str}")
        queries = _DROP.findall(body["query"]) or [body["query"]]
        for single in queries:
            try:
                store.update(single.rstrip(";"))
            except SyntaxError as exc:
                return _detail(400, f"Syntax error in query: {exc}")
        return web.json_response("Success")

    app.router.add_patch("/api/v0/graph", patch)
    app.router.add_get("/api/v0/graph", search)
    app.router.add_post("/api/v0/graph/update", update)
    return app


def _detail(status: int, detail: Any) -> web.Response:
    return web.json_response({"detail": detail}, status=status)


async def _main(host: str, port: int) -> None:
    runner = web.AppRunner(create_app(), access_log=None, handle_signals=False)
    await runner.setup()
    sock = socket.create_server((host, port))
    await web.SockSite(runner, sock).start()
    print(f"listening on http://{host}:{sock.getsockname()[1]}", flush=True)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopped.set)
    await stopped.wait()
    await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", default="127.0.0.1:0")
    host, _, port = parser.parse_args().listen.rpartition(":")
    asyncio.run(_main(host, int(port)))
