"""Running the reference Metadata Service until SIGTERM/SIGINT, over HTTP or HTTPS."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import ssl
from collections.abc import Callable
from pathlib import Path

from aiohttp import web
from prometheus_client import CollectorRegistry

from kg_exporter.errors import SettingsError
from kg_exporter.httpserver_log import quiet_bad_requests
from kg_exporter.service.app import create_app
from kg_exporter.service.limits import Limits
from kg_exporter.service.store import SubgraphStore
from kg_exporter.sink.token import TokenFile

log = logging.getLogger(__name__)

SHUTDOWN_SECONDS = 5.0


def serve(
    store_path: str,
    host: str,
    port: int,
    token_file: Path | None,
    *,
    limits: Limits | None = None,
    announce: Callable[[str], None] | None = None,
    tls: ssl.SSLContext | None = None,
) -> None:
    """Serve the store at ``store_path`` (``:memory:`` for none) on ``host:port`` until signalled.

    ``port`` 0 picks a free port; ``announce`` (default: print to stdout) gets
    ``listening on http://HOST:PORT`` (``https://`` with ``tls``, see :func:`tls_context`) once
    requests are accepted, so a caller that started this process knows where to connect. Raises
    :class:`~kg_exporter.errors.SettingsError` when the token file cannot be read and OSError when
    the address is taken.
    """
    asyncio.run(
        _serve(
            store_path,
            host,
            port,
            token_file,
            limits=limits or Limits(),
            announce=announce or _print,
            tls=tls,
        )
    )


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server context presenting ``cert`` (PEM, the chain after the certificate itself) with its
    private ``key`` (PEM, unencrypted), TLS 1.2 at least. :class:`SettingsError` in one line naming
    the file at fault (never its content) when either cannot be read or they do not match."""
    for flag, path in (("--tls-cert", cert), ("--tls-key", key)):
        try:
            path.read_bytes()
        except OSError as exc:
            raise SettingsError(f"{flag} {path}: cannot read it: {exc.strerror or exc}") from None
    try:
        ssl.create_default_context(cafile=str(cert))
    except ssl.SSLError:
        raise SettingsError(f"--tls-cert {cert}: not a PEM certificate") from None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        # An empty password: an encrypted key is refused instead of prompting on a terminal.
        context.load_cert_chain(certfile=str(cert), keyfile=str(key), password=b"")
    except ssl.SSLError as exc:
        if exc.reason == "KEY_VALUES_MISMATCH":
            problem = f"is not the private key of --tls-cert {cert}"
        else:
            problem = "not an unencrypted PEM private key"
        raise SettingsError(f"--tls-key {key}: {problem}") from None
    return context


async def _serve(
    store_path: str,
    host: str,
    port: int,
    token_file: Path | None,
    *,
    limits: Limits,
    announce: Callable[[str], None],
    tls: ssl.SSLContext | None,
) -> None:
    token = TokenFile(token_file) if token_file is not None else None
    store = SubgraphStore.open(store_path)
    app = create_app(store, token=token, registry=CollectorRegistry(), limits=limits)
    sock = _listen(host, port)
    # Requests under way get this long to finish on SIGTERM (writes take milliseconds; queries and
    # parses are ended at once by stopping their workers), well within a pod's 30 s grace period.
    # aiohttp closes a connection whose request headers have not all arrived when its keep-alive
    # timer runs out (it starts when the connection opens): that timer is the header timeout.
    quiet_bad_requests()
    runner = web.AppRunner(
        app,
        access_log=None,
        handle_signals=False,
        shutdown_timeout=SHUTDOWN_SECONDS,
        keepalive_timeout=limits.header_seconds,
        # A client that hangs up abandons its request: the handler is cancelled, which stops the
        # worker running its query or parse at once (see workers.py) instead of at its time
        # limit. A write is never cut in half by it: the store write itself has no await.
        handler_cancellation=True,
    )
    await runner.setup()
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopped.set)
    try:
        await web.SockSite(runner, sock, ssl_context=tls).start()
        bound_host, bound_port = sock.getsockname()[:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        log.info("serving %d subgraphs from %s", store.count(), store_path)
        scheme = "https" if tls is not None else "http"
        announce(f"listening on {scheme}://{shown}:{bound_port}")
        await stopped.wait()
        log.info("stopping")
    finally:
        await runner.cleanup()
        with contextlib.suppress(OSError):
            store.close()


def _listen(host: str, port: int) -> socket.socket:
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    return socket.create_server((host, port), family=family, backlog=1024)


def _print(line: str) -> None:
    print(line, flush=True)
