"""``python -m kg_exporter.service --store DIR --listen HOST:PORT [--token-file FILE]``.

The same as ``kg-exporter metadata-service``; prints ``listening on http://HOST:PORT`` on stdout
when ready (``--listen 127.0.0.1:0`` picks a free port), logs to stderr, exits 0 on SIGTERM.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from kg_exporter.service.command import add_arguments, run


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kg_exporter.service",
        description="The reference Metadata Service: the /subgraph API on an embedded Oxigraph "
        "store.",
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
