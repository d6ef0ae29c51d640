"""The benchmarks' timing sink, as its own process (so it does not compete with the fake API
server for one interpreter's lock).

    python bench/daemon_sink.py --port P [--upstream http://127.0.0.1:Q]

It records, on the system-wide monotonic clock (comparable across processes on Linux), when each
subgraph PUT was acknowledged: with ``--upstream`` it forwards every request to the Metadata
Service there and records the moment the service's 2xx answer came back (the forwarding hop costs
well under a millisecond); without, it answers PUTs itself (201/204), GETs with 404 and lists with
``[]`` — a stub that isolates the daemon. ``GET /_bench/acks`` returns ``{id: time}``,
``GET /_bench/stats`` ``{"puts": n, "acked": n}``. A Graph Store PUT (``?graph=<iri>``, to
``oxigraph serve`` upstream) is recorded under the subgraph id its graph IRI names, and so is
each graph a SPARQL Update to ``/update`` replaces (the graph-store sink's batches).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time

import aiohttp
from aiohttp import web

from kg_exporter.identity import SUBGRAPH_GRAPH_PREFIX

_FORWARDED = {"content-type", "accept", "authorization"}
#: The subgraphs a SPARQL Update of the graph-store sink replaces (see its replace_graphs).
_REPLACED = re.compile(
    rb"DROP SILENT GRAPH <" + re.escape(SUBGRAPH_GRAPH_PREFIX.encode()) + rb"([^>]+)>"
)
_FORWARDED_BACK = {"content-type", "retry-after"}


class TimingSink:
    def __init__(self, upstream: str | None) -> None:
        self.upstream = upstream
        self.acked: dict[str, float] = {}
        self.puts = 0
        self.session: aiohttp.ClientSession | None = None

    async def start(self, app: web.Application) -> None:
        if self.upstream:
            self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256))

    async def close(self, app: web.Application) -> None:
        if self.session is not None:
            await self.session.close()

    async def acks(self, request: web.Request) -> web.Response:
        return web.json_response(self.acked)

    async def stats(self, request: web.Request) -> web.Response:
        return web.json_response({"puts": self.puts, "acked": len(self.acked)})

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        if request.method == "POST" and request.path == "/subgraph":
            return await self.batch(request, body)
        subgraph_id = request.path.removeprefix("/subgraph/")
        if "graph" in request.query:  # a Graph Store request (``oxigraph serve`` upstream)
            subgraph_id = request.query["graph"].removeprefix(SUBGRAPH_GRAPH_PREFIX)
        if self.session is None:
            if request.method == "PUT":
                status = 204 if subgraph_id in self.acked else 201
                self._record(subgraph_id)
                return web.Response(status=status)
            if request.path == "/subgraph":
                return web.json_response([])
            return web.json_response({"error": "not found"}, status=404)
        headers = {k: v for k, v in request.headers.items() if k.lower() in _FORWARDED}
        async with self.session.request(
            request.method, f"{self.upstream}{request.path_qs}", data=body or None, headers=headers
        ) as upstream:
            payload = await upstream.read()
            if request.method == "PUT" and upstream.status < 300:
                self._record(subgraph_id)
            elif request.path.endswith("/update") and upstream.status < 300:
                # The graph-store sink's batches: one SPARQL Update replacing each graph.
                for graph in _REPLACED.findall(body):
                    self._record(graph.decode())
            back = {k: v for k, v in upstream.headers.items() if k.lower() in _FORWARDED_BACK}
            return web.Response(status=upstream.status, body=payload, headers=back)

    async def batch(self, request: web.Request, body: bytes) -> web.StreamResponse:
        """``POST /subgraph`` (a batch): each subgraph acknowledged by its own result."""
        ids = [json.loads(line)["id"] for line in body.splitlines() if line.strip()]
        if self.session is None:
            results = [{"id": i, "status": 204 if i in self.acked else 201} for i in ids]
            for subgraph_id in ids:
                self._record(subgraph_id)
            return web.json_response({"results": results})
        headers = {k: v for k, v in request.headers.items() if k.lower() in _FORWARDED}
        async with self.session.post(
            f"{self.upstream}/subgraph", data=body, headers=headers
        ) as upstream:
            payload = await upstream.read()
            if upstream.status == 200:
                for result in json.loads(payload)["results"]:
                    if result["status"] < 300:
                        self._record(result["id"])
            return web.Response(
                status=upstream.status, body=payload, content_type="application/json"
            )

    def _record(self, subgraph_id: str) -> None:
        self.acked[subgraph_id] = time.monotonic()
        self.puts += 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream")
    args = parser.parse_args()
    sink = TimingSink(args.upstream)
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.on_startup.append(sink.start)
    app.on_cleanup.append(sink.close)
    app.router.add_get("/_bench/acks", sink.acks)
    app.router.add_get("/_bench/stats", sink.stats)
    app.router.add_route("*", "/{tail:.*}", sink.handle)
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None, backlog=1024)


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    main()
