"""Ids and IRIs: deterministic, collision-free, percent-encoded, bounded."""

from __future__ import annotations

from urllib.parse import unquote

from hypothesis import given
from hypothesis import strategies as st

from kg_exporter.identity import (
    MAX_ID_COMPONENT,
    Iris,
    ObjectKey,
    node_subgraph_id,
    workload_subgraph_id,
)

NAMES = st.text(min_size=1, max_size=300)


def test_same_name_in_two_namespaces_or_kinds_never_collides() -> None:
    keys = [
        ObjectKey("Deployment", "a", "web"),
        ObjectKey("Deployment", "b", "web"),
        ObjectKey("StatefulSet", "a", "web"),
        ObjectKey("Job", "a", "web"),
    ]
    ids = {workload_subgraph_id("c", k) for k in keys} | {
        workload_subgraph_id("c", k, telemetry=True) for k in keys
    }
    ids.add(node_subgraph_id("c", "web"))
    assert len(ids) == 2 * len(keys) + 1
    iris = Iris("https://x.example/", "c")
    assert len({iris.workload(k) for k in keys} | {iris.node("web")}) == len(keys) + 1


def test_ids_are_readable_for_ordinary_names() -> None:
    key = ObjectKey("Deployment", "shop", "web")
    assert workload_subgraph_id("cluster1", key) == "cluster1:workload:deployment:shop:web"
    assert Iris("https://x.example/", "cluster1").workload(key) == (
        "https://x.example/cluster1/deployment/shop/web"
    )


@given(NAMES, NAMES)
def test_ids_are_ascii_url_safe_and_deterministic(namespace: str, name: str) -> None:
    key = ObjectKey("Deployment", namespace, name)
    first = workload_subgraph_id("c1", key)
    assert first == workload_subgraph_id("c1", ObjectKey("Deployment", namespace, name))
    assert first.isascii() and "/" not in first and first not in {".", ".."}
    assert all(len(part) <= MAX_ID_COMPONENT + 40 for part in first.split(":"))


@given(NAMES, NAMES, NAMES, NAMES)
def test_distinct_keys_give_distinct_ids(ns1: str, n1: str, ns2: str, n2: str) -> None:
    a, b = ObjectKey("Job", ns1, n1), ObjectKey("Job", ns2, n2)
    if (ns1, n1) != (ns2, n2):
        assert workload_subgraph_id("c", a) != workload_subgraph_id("c", b)


@given(NAMES)
def test_iri_segments_round_trip(name: str) -> None:
    iri = Iris("https://x.example/", "c").node(name)
    segment = iri.rsplit("/", 1)[1]
    assert unquote(segment) == name
    assert segment not in {".", ".."}


def test_segments_are_percent_encoded_as_quote_does() -> None:
    """The ASCII fast path gives quote()'s bytes (ids and IRIs already stored must not change)."""
    import random
    from urllib.parse import quote

    from kg_exporter.identity import encode_segment

    alphabet = [chr(i) for i in range(128)] + ["é", "\u2028", "😀"]
    rng = random.Random(12)
    values = ["", ".", "..", "...", "app.kubernetes.io/name", "nvidia.com/gpu", "a b%"]
    values += ["".join(rng.choices(alphabet, k=rng.randint(1, 12))) for _ in range(3000)]
    for value in values:
        expected = quote(value, safe="-._~")
        expected = expected.replace(".", "%2E") if expected in {".", ".."} else expected
        assert encode_segment(value) == expected, value
