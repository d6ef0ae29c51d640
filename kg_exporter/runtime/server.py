"""The daemon's HTTP endpoints: ``/metrics``, ``/healthz``, ``/readyz`` (see health.py)."""

from __future__ import annotations

import json
import socket

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from kg_exporter.errors import SettingsError
from kg_exporter.httpserver_log import quiet_bad_requests
from kg_exporter.runtime.health import Health

#: See HealthServer.start.
HEADER_SECONDS = 15.0
#: Requests under way at shutdown get this long (they are probes: milliseconds).
SHUTDOWN_SECONDS = 2.0
#: Largest request body read (no endpoint takes one; aiohttp's default is 1 MiB).
MAX_BODY_BYTES = 64 * 1024


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) as a pair."""
    host, _, port = value.rpartition(":")
    return host.strip("[]"), int(port)


def _json(body: object, status: int) -> web.Response:
    return web.Response(
        text=json.dumps(body), status=status, content_type="application/json", charset="utf-8"
    )


def create_app(health: Health, registry: CollectorRegistry) -> web.Application:
    async def metrics(request: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def healthz(request: web.Request) -> web.Response:
        if health.alive:
            return _json({"status": "ok"}, 200)
        return _json({"status": "failing", "reasons": health.dead}, 503)

    async def readyz(request: web.Request) -> web.Response:
        reasons = health.reasons()
        if not reasons:
            return _json({"ready": True, "standby": health.standby}, 200)
        return _json({"ready": False, "reasons": reasons}, 503)

    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app


class HealthServer:
    """Serves the app on ``listen`` (port 0: any free port) until :meth:`stop`."""

    def __init__(
        self, app: web.Application, listen: str, *, header_seconds: float = HEADER_SECONDS
    ) -> None:
        self._app = app
        self._listen = listen
        self._header_seconds = header_seconds
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> str:
        """Listen and serve; the base URL. :class:`SettingsError` when the address is unusable."""
        host, port = parse_listen(self._listen)
        try:
            family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
            sock = socket.create_server((host, port), family=family)
        except OSError as exc:
            raise SettingsError(
                f"setting 'daemon.listen': cannot listen on {self._listen}: {exc}"
            ) from exc
        # A connection gets HEADER_SECONDS to send its request headers (and may idle that long
        # between requests): aiohttp's keep-alive timer runs from the connection's start, so it
        # also cuts off a client trickling its headers, which would otherwise hold its
        # connection for an hour. Probes and scrapes send theirs at once.
        quiet_bad_requests()
        self._runner = web.AppRunner(
            self._app,
            access_log=None,
            handle_signals=False,
            keepalive_timeout=self._header_seconds,
            shutdown_timeout=SHUTDOWN_SECONDS,
        )
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        bound_host, bound_port = sock.getsockname()[:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        self.url = f"http://{shown}:{bound_port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
