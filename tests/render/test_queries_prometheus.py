"""Every PromQL the default templates emit executes on a real Prometheus; every LogQL selector is
well-formed and selects exactly the workload's namespace and pods."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from kg_exporter.render.batch import render_objects
from kg_exporter.render.renderer import Renderer
from tests.conftest import example_objects
from tests.render import fixtures as f
from tests.render.graph import of_type, promql
from tests.support.prometheus import Prometheus, start_prometheus

# Names that must still yield valid queries: quotes, backslashes, regex metacharacters, newlines.
NASTY_NAMES = ['we"b', "a\\b", "x.*y", "(a|b)[c]{2}", "line\nbreak", "tab\there", "é-ünïcode", "}{"]


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    with start_prometheus(tmp_path_factory.mktemp("prometheus")) as server:
        yield server


def all_queries(renderer: Renderer) -> dict[str, str]:
    objects = example_objects() + [f.node(gpus=1)] + [
        f.deployment(name=n, namespace=n, availableReplicas=1) for n in NASTY_NAMES
    ] + [f.node(name=n) for n in NASTY_NAMES] + [f.statefulset(), f.job(active=1)]  # fmt: skip
    queries: dict[str, str] = {}
    for subgraph in render_objects(((o, "t") for o in objects), renderer):
        if hasattr(subgraph, "document"):
            for name, query in promql(subgraph.document).items():
                queries[f"{subgraph.id} {name}"] = query
    return queries


@pytest.mark.prometheus
def test_every_emitted_promql_executes(prometheus: Prometheus, renderer: Renderer) -> None:
    queries = all_queries(renderer)
    assert len(queries) > 100
    failures = {}
    for where, query in queries.items():
        answer = prometheus.query(query)
        if answer.get("status") != "success":
            failures[where] = (query, answer.get("error"))
    assert not failures, failures


@pytest.mark.prometheus
def test_syntax_errors_are_caught(prometheus: Prometheus) -> None:
    """The check above can fail: a broken query is refused."""
    assert prometheus.query('sum(rate(x{pod="a}[5m]))')["status"] == "error"


_LOGQL_MATCHER = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)(=~|!~|!=|=)"((?:[^"\\\n]|\\.)*)"')


def parse_logql_selector(text: str) -> list[tuple[str, str, str]]:
    """A strict parser of LogQL stream selectors; returns (label, op, unescaped value)."""
    assert text.startswith("{") and text.endswith("}"), text
    body, position, matchers = text[1:-1], 0, []
    while position < len(body):
        match = _LOGQL_MATCHER.match(body, position)
        assert match, f"bad matcher at {position} in {text!r}"
        value = match.group(3).encode("latin-1", "backslashreplace").decode("unicode_escape")
        matchers.append((match.group(1), match.group(2), value))
        position = match.end()
        if position < len(body):
            assert body[position] == ",", text
            position += 1
    return matchers


@pytest.mark.parametrize("name", ["web", *NASTY_NAMES])
def test_logql_selectors_are_well_formed_and_exact(renderer: Renderer, name: str) -> None:
    _, telemetry = renderer.workload(f.deployment(name=name, namespace=name, availableReplicas=1))
    (logs,) = of_type(telemetry.document, "kgx:LogsDataset")
    matchers = dict(
        (label, (op, value)) for label, op, value in parse_logql_selector(logs["kgx:logql"])
    )
    assert matchers["namespace"] == ("=", name)
    op, pattern = matchers["pod"]
    assert op == "=~"
    assert re.fullmatch(pattern, f"{name}-7d9c5b8f4-x2k9p")
    assert not re.fullmatch(pattern, f"{name}x-7d9c5b8f4-x2k9p")
