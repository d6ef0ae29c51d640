"""The ``metadata-service`` command: its arguments and what running it does.

Shared by ``kg-exporter metadata-service`` and ``python -m kg_exporter.service``. Heavy imports
(aiohttp, pyoxigraph) wait until the command runs, so building the CLI parser stays cheap.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kg_exporter.service.limits import Limits

EXIT_OK, EXIT_USAGE = 0, 2


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) as a pair; port 0 picks a free port."""
    host, colon, port = value.rpartition(":")
    if not colon or not host or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store",
        required=True,
        metavar="DIR",
        help="directory of the on-disk Oxigraph store (created if missing), or :memory:",
    )
    parser.add_argument(
        "--listen",
        type=parse_listen,
        default=("127.0.0.1", 8080),
        metavar="HOST:PORT",
        help="address to serve on (default: 127.0.0.1:8080; 0.0.0.0:8080 in a container; "
        "port 0 picks a free one). The bound address is printed as 'listening on http://...'",
    )
    parser.add_argument(
        "--token-file",
        type=Path,
        metavar="FILE",
        help="require 'Authorization: Bearer <token>' with the token this file holds (re-read "
        "when it changes) on /subgraph and /sparql",
    )
    parser.add_argument(
        "--tls-cert",
        type=Path,
        metavar="FILE",
        help="serve HTTPS with this PEM certificate (its chain after it); needs --tls-key. The "
        "address is then printed as 'listening on https://...'",
    )
    parser.add_argument(
        "--tls-key",
        type=Path,
        metavar="FILE",
        help="the PEM private key (unencrypted) of --tls-cert",
    )
    add_limit_arguments(parser)


def add_limit_arguments(parser: argparse.ArgumentParser) -> None:
    """One ``--NAME`` per field of :class:`~kg_exporter.service.limits.Limits` (``max_body_bytes``
    is ``--max-body-bytes``), each defaulting to the field's default."""
    from kg_exporter.service.limits import Limits

    defaults = Limits()
    group = parser.add_argument_group("limits of one request (docs/metadata-service.md#limits)")
    for field in dataclasses.fields(Limits):
        default = getattr(defaults, field.name)
        group.add_argument(
            "--" + field.name.replace("_", "-"),
            type=type(default),
            default=None,
            metavar="N",
            help=f"default: {default}",
        )


def limits_from(args: argparse.Namespace) -> Limits:
    """The limits the arguments name, the defaults for the rest; ValueError when one is <= 0."""
    from kg_exporter.service.limits import Limits

    given = {
        field.name: getattr(args, field.name)
        for field in dataclasses.fields(Limits)
        if getattr(args, field.name, None) is not None
    }
    return Limits(**given)


def run(args: argparse.Namespace) -> int:
    """Serve until SIGTERM/SIGINT; 0 then, 2 when the store, address, token file or TLS
    certificate and key are unusable."""
    from kg_exporter.errors import KgExporterError
    from kg_exporter.service.server import serve, tls_context

    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO,
            stream=sys.stderr,
            format="%(asctime)s %(levelname)s %(name)s %(message)s",
        )
    host, port = args.listen
    if (args.tls_cert is None) != (args.tls_key is None):
        print("metadata-service: --tls-cert and --tls-key go together", file=sys.stderr)
        return EXIT_USAGE
    try:
        limits = limits_from(args)
    except ValueError as exc:
        print(f"metadata-service: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        tls = tls_context(args.tls_cert, args.tls_key) if args.tls_cert is not None else None
        serve(args.store, host, port, args.token_file, limits=limits, tls=tls)
    except (KgExporterError, OSError) as exc:
        print(f"metadata-service: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK
