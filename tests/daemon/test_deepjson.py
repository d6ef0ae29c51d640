"""kg_exporter.watch.deepjson: bodies nested past Python's parser are read with the deep values cut,
and everything above the cut is exactly what json.loads gives."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kg_exporter.watch.deepjson import MAX_DEPTH, cut, loads


def deep_text(depth: int, leaf: str = '"leaf"') -> str:
    return '{"a":' * depth + leaf + "}" * depth


def depth_of(value: Any) -> int:
    depth = 0
    while isinstance(value, dict | list) and value:
        value = next(iter(value.values())) if isinstance(value, dict) else value[0]
        depth += 1
    return depth


def test_a_body_the_parser_reads_is_left_alone() -> None:
    text = deep_text(50)
    assert loads(text) == (json.loads(text), False)


@pytest.mark.parametrize("depth", [1_500, 10_000, 100_000])
def test_a_body_past_the_parser_is_cut_at_max_depth(depth: int) -> None:
    body = (
        '{"kind":"Deployment","metadata":{"name":"web","labels":{"x":"[{[{"}},'
        f'"spec":{{"replicas":2,"deep":{deep_text(depth)}}},"status":{{"ready":1}}}}'
    )
    with pytest.raises(RecursionError):
        json.loads(body)
    value, was_cut = loads(body)
    assert was_cut
    # Brackets inside strings did not count; what lies above the cut is intact.
    assert value["metadata"] == {"name": "web", "labels": {"x": "[{[{"}}
    assert value["spec"]["replicas"] == 2 and value["status"] == {"ready": 1}
    assert depth_of(value["spec"]["deep"]) == MAX_DEPTH - 2  # from level 3; deeper is null


def test_arrays_and_strings_with_escapes() -> None:
    body = ("[" * 5_000 + '"a \\" ] ["' + "]" * 5_000).encode()
    value, was_cut = loads(body)
    assert was_cut and depth_of(value) == MAX_DEPTH  # MAX_DEPTH lists, the innermost holding null


def test_not_json_is_still_a_value_error() -> None:
    with pytest.raises(ValueError):
        loads(b"[" * 5_000)  # never closed
    with pytest.raises(ValueError):
        loads(deep_text(5_000)[:-1] + ",")


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='ab"\\[]{} ', max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=15,
)


@settings(max_examples=300, deadline=None)
@given(JSON, st.integers(1, 6))
def test_cut_matches_a_recursive_cut(value: Any, depth: int) -> None:
    def reference(node: Any, level: int) -> Any:
        if isinstance(node, dict | list) and level > depth:
            return None
        if isinstance(node, dict):
            return {k: reference(v, level + 1) for k, v in node.items()}
        if isinstance(node, list):
            return [reference(v, level + 1) for v in node]
        return node

    body = json.dumps(value).encode()
    assert json.loads(cut(body, depth)) == reference(value, 1)


@pytest.mark.parametrize(
    "body",
    [
        b'{"a\\ud800": ["x\\udfff", {"k": "\\uDC00"}]}',  # escapes, in keys and values
        b'{"a\xed\xa0\x80": ["x\xed\xbf\xbf", {"k": "\xed\xb0\x80"}]}',  # raw bytes ED A0-BF
        '{"a\\ud800": ["x\\udfff", {"k": "\\uDC00"}]}',  # text
    ],
)
def test_lone_surrogates_read_as_replacement_characters(body: bytes | str) -> None:
    value, _ = loads(body)
    assert value == {"a\ufffd": ["x\ufffd", {"k": "\ufffd"}]}
    assert json.loads(json.dumps(value, ensure_ascii=False).encode("utf-8")) == value


def test_valid_pairs_and_deep_bodies_with_lone_surrogates() -> None:
    assert loads(b'["\\ud83d\\ude00"]')[0] == ["\U0001f600"]
    value, was_cut = loads(deep_text(5_000, '"\\ud800"'))
    assert was_cut and "\ud800" not in json.dumps(value, ensure_ascii=False)
    value, was_cut = loads(deep_text(900, '"\\ud800"'))  # just under the parser's limit
    assert not was_cut and depth_of(value) == 900
    assert "\ud800" not in json.dumps(value, ensure_ascii=False)
