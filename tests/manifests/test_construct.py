"""Building a YAML document's value directly (kg_exporter.manifests.construct) gives exactly what
``yaml.safe_load`` gives: for plain manifests by the direct path, for everything else through
SafeConstructor."""

from __future__ import annotations

import datetime
import inspect
import sys
from typing import Any

import pytest
import yaml

from kg_exporter.manifests import construct
from kg_exporter.manifests.reader import _Loader
from tests.conftest import EXAMPLES


def documents(text: str) -> list[Any]:
    loader = _Loader(text)
    values = []
    try:
        while loader.check_node():
            node = loader.get_node()
            values.append(construct.document(loader, node) if node is not None else None)
    finally:
        loader.dispose()
    return values


def test_every_example_manifest_is_read_as_safe_load_reads_it() -> None:
    files = [p for p in sorted(EXAMPLES.rglob("*")) if p.suffix in (".yaml", ".yml")]
    assert len(files) > 10
    for path in files:
        text = path.read_text()
        assert documents(text) == list(yaml.safe_load_all(text)), path


SCALARS = """
s: text
q: "quoted: 1"
i: 42
hex: 0x1F
octal: 017
under: 1_000
sexagesimal: 1:30
f: 2.5e-1
inf: .inf
b: yes
n: ~
empty:
t: 2026-12-02T10:00:00Z
d: 2026-12-02
bin: !!binary aGVsbG8=
explicit: !!str 12
1: integer key
2.5: float key
true: bool key
? null
: null key
list: [1, two, 3.0, null, {a: b}]
nested: {a: {b: {c: [d, {e: f}]}}}
"""


def test_scalars_of_every_standard_tag_and_keys_that_are_not_strings() -> None:
    (value,) = documents(SCALARS)
    assert value == yaml.safe_load(SCALARS)
    assert value["octal"] == 0o17 and value["sexagesimal"] == 90 and value["b"] is True
    assert value["t"] == datetime.datetime(2026, 12, 2, 10, tzinfo=datetime.UTC)
    assert value["bin"] == b"hello" and value["explicit"] == "12" and value[None] == "null key"


@pytest.mark.parametrize(
    "text",
    [
        # Anchors and aliases: SafeConstructor shares the value between both places.
        "base: &b {cpu: 1}\nother: *b\n",
        # A recursive structure, which only SafeConstructor can build.
        "a: &a [1, *a]\n",
        # Merge keys and "=" value keys.
        "base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  y: 3\n",
        "= : v\n",
        # Other standard tags.
        "!!set {a, b}\n",
        "!!omap [a: 1, b: 2]\n",
        "!!pairs [a: 1, a: 2]\n",
        # A duplicate key: the later value wins.
        "k: 1\nk: 2\n",
    ],
)
def test_documents_that_are_not_plain_are_built_by_safe_constructor(text: str) -> None:
    value = documents(text)
    expected = list(yaml.safe_load_all(text))
    if text.startswith("a: &a"):
        assert value[0]["a"][1] is value[0]["a"]  # the cycle, as SafeConstructor builds it
    else:
        assert value == expected
    if text.startswith("base: &b {cpu"):
        assert value[0]["base"] is value[0]["other"]


def test_refusals_are_safe_constructor_s() -> None:
    for text in ("? [a, b]\n: v\n", "!python/object:os.system x\n", "!custom 5\n"):
        with pytest.raises(yaml.constructor.ConstructorError) as direct:
            documents(text)
        with pytest.raises(yaml.constructor.ConstructorError) as safe:
            yaml.load(text, Loader=_Loader)
        assert str(direct.value) == str(safe.value)


def test_nesting_deeper_than_the_recursion_limit_is_read_by_safe_constructor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # SafeConstructor builds nested collections without recursing; the direct path gives up
    # (RecursionError) and hands the document over. A low limit stands for a deep document.
    depth = 200
    text = "[" * depth + "]" * depth + "\n"
    expected = yaml.load(text, Loader=_Loader)
    handed_over = []
    original = _Loader.construct_document

    def spy(self: _Loader, node: yaml.Node) -> Any:
        handed_over.append(node)
        return original(self, node)

    monkeypatch.setattr(_Loader, "construct_document", spy)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 150)
    try:
        value = documents(text)
    finally:
        sys.setrecursionlimit(limit)
    assert value == [expected]
    assert len(handed_over) == 1


def test_plain_documents_never_reach_safe_constructor(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: _Loader, node: yaml.Node) -> Any:
        raise AssertionError("handed over")

    monkeypatch.setattr(_Loader, "construct_document", refuse)
    assert documents(SCALARS) == [yaml.safe_load(SCALARS)]
