"""``python -m kg_exporter.service --store DIR --listen HOST:PORT [--token-file FILE]``.

The same as ``kg-exporter metadata-service``; prints ``listening on http://HOST:PORT`` on stdout
when ready (``--listen 127.0.0.1:0`` picks a free port), logs to stderr, exits 0 on SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from kg_exporter.errors import KgExporterError
from kg_exporter.service.server import serve
from kg_exporter.service.validation import DEFAULT_MAX_BODY_BYTES


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) as a pair."""
    host, colon, port = value.rpartition(":")
    if not colon or not port.isdigit() or not host:
        raise argparse.ArgumentTypeError(f"{value!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kg_exporter.service", description="The reference Metadata Service."
    )
    parser.add_argument("--store", required=True, help="store directory, or :memory:")
    parser.add_argument(
        "--listen", type=parse_listen, default=("127.0.0.1", 8080), help="HOST:PORT to serve on"
    )
    parser.add_argument("--token-file", type=Path, help="file holding the bearer token")
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        default=DEFAULT_MAX_BODY_BYTES,
        help="largest accepted request body (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    host, port = args.listen
    try:
        serve(args.store, host, port, args.token_file, max_body_bytes=args.max_body_bytes)
    except (KgExporterError, OSError) as exc:
        print(f"metadata-service: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
