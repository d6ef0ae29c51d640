"""Run the fake API server by hand: ``python -m tests.fakekube --port 8001 --kubeconfig-out kc``.

Then e.g. ``kubectl --kubeconfig kc get deploy -A`` or ``kg-exporter run --kubeconfig kc``.
Runs until SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

import yaml

from .control import FakeKube


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakekube", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: any)")
    parser.add_argument("--kubeconfig-out", type=Path, help="write a kubeconfig for it here")
    parser.add_argument("--token", default="fake-token", help="bearer token it accepts")
    parser.add_argument("--bookmark-interval", type=float, default=1.0, help="seconds")
    parser.add_argument(
        "--objects",
        type=Path,
        action="append",
        default=[],
        help="YAML file of objects (multi-document or a List) to create first",
    )
    args = parser.parse_args(argv)

    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())

    with FakeKube(
        port=args.port,
        token=args.token,
        bookmark_interval=args.bookmark_interval,
        kubeconfig_path=args.kubeconfig_out,
    ) as fake:
        for path in args.objects:
            for doc in yaml.safe_load_all(path.read_text()):
                for obj in (doc or {}).get("items", [doc]) if doc else []:
                    fake.create(obj)
        print(f"fakekube listening on {fake.url}; kubeconfig: {fake.kubeconfig_path}", flush=True)
        stopping.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
