"""A real Prometheus scraping a fixed /metrics page, and ways to ask it which pods a query picks:
what the pod-matcher tests (test_pod_matchers_prometheus.py, test_pod_labels_prometheus.py) share."""

from __future__ import annotations

import contextlib
import http.server
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tests.support.processes import free_port, wait_until
from tests.support.prometheus import Prometheus, start_prometheus

Obj = dict[str, Any]
# What Kubernetes draws random name parts from (k8s.io/apimachinery/pkg/util/rand): no vowels,
# no 0, 1 or 3, so a random part never spells a word.
RANDOM = ["x2k9p", "b7m4q", "zt5wh"]
# Pod-template-hashes: SafeEncodeString of a decimal uint32 (characters 4-9, b, c, d, f).
HASHES = ["7d9c5b8f4", "5f6d8b9c7b"]
# The start of a vector selector: a metric name and its opening brace.
_SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{")
_AGGREGATION = re.compile(r"\b(sum|avg)\(")


#: What each pod-matcher module serves (its /metrics text), for the one Prometheus they share
#: (``pods_prometheus`` in tests/render/conftest.py).
_SERIES: list[Callable[[], str]] = []


def register_series(series: Callable[[], str]) -> Callable[[], str]:
    """Decorator: ``series()`` gives /metrics lines the shared Prometheus is to scrape (names and
    namespaces of their own: the modules' series are served together)."""
    _SERIES.append(series)
    return series


def registered_series() -> str:
    return "".join(series() for series in _SERIES)


def queries_of(document: Obj) -> list[str]:
    return [n["kgx:promql"] for n in document["@graph"] if "kgx:promql" in n]


def selectors(query: str) -> list[tuple[str, str]]:
    """Each vector selector of ``query`` as (metric, whole selector); braces inside the quoted
    values (a regex's ``{5}``) do not end it."""
    found = []
    for match in _SELECTOR.finditer(query):
        position, quoted = match.end(), False
        while position < len(query):
            char = query[position]
            if quoted and char == "\\":
                position += 1
            elif char == '"':
                quoted = not quoted
            elif char == "}" and not quoted:
                break
            position += 1
        found.append((match.group(1), query[match.start() : position + 1]))
    return found


def label_value(value: str) -> str:
    """``value`` quoted as the exposition format wants it."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


@contextlib.contextmanager
def serving(text: str) -> Iterator[str]:
    """An HTTP server answering every GET with ``text`` (a /metrics page); its host:port."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = text.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextlib.contextmanager
def scraping(workdir: Path, text: str) -> Iterator[Prometheus]:
    """A Prometheus that has scraped ``text`` twice (so that rate() has what it needs)."""
    with serving(text) as target, start_prometheus(workdir, [target]) as prometheus:
        wait_until(
            lambda: _samples(prometheus, "up") >= 2, timeout=60, what="two scrapes of the pods"
        )
        yield prometheus


def _samples(prometheus: Prometheus, metric: str) -> int:
    answer = prometheus.query(f"count_over_time({metric}[1m])")
    result = answer.get("data", {}).get("result", [])
    return int(float(result[0]["value"][1])) if result else 0


def pods_selected(prometheus: Prometheus, query: str) -> set[str]:
    """The pods whose series ``query`` (a selector, or a whole query with its aggregations
    turned into ``sum by (pod)``) reads."""
    answer = prometheus.query(query)
    assert answer["status"] == "success", (query, answer)
    return {series["metric"]["pod"] for series in answer["data"]["result"]}


def by_pod(query: str) -> str:
    """``query`` with each ``sum(``/``avg(`` aggregating by pod: its answer names the pods whose
    series went into it (a join's ``max by (...)`` is left alone)."""
    return _AGGREGATION.sub(r"\1 by (pod) (", query)
