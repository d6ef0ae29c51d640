"""A YAML document's value from its composed nodes, without PyYAML's general constructor when
the document is plain.

Why: with libyaml composing the nodes, building the Python values was half of what reading a
manifest directory cost, and reading was a quarter of a backfill's CPU (measured on the 11,000
objects of ``bench/backfill.py``). ``SafeConstructor`` pays for what manifests almost never
hold — anchors shared between places, recursive structures, merge keys — on every node: a
generator per mapping and sequence, a cache lookup per node. Here a plain document (mappings,
sequences and scalars with the standard tags, no merge key, no node reached twice) is built by
one direct recursion, each scalar by the very constructor ``SafeConstructor`` would call; any
other document is handed to ``SafeConstructor`` whole, so the value is always the one
``yaml.safe_load`` gives.

A scalar its tag's constructor cannot build (``2001-02-30``, ``!!int twelve``) makes PyYAML raise
ValueError, KeyError or AttributeError, not a YAML error: here it is a ``ConstructorError`` at
that scalar (at the document's start when SafeConstructor found it), so a reader reports the file
and line instead of stopping on it.
"""

from __future__ import annotations

from typing import Any

import yaml

_PREFIX = "tag:yaml.org,2002:"
_STR = _PREFIX + "str"
_MAP = _PREFIX + "map"
_SEQ = _PREFIX + "seq"
#: Scalar tags built by SafeConstructor's own function for them (which reads nothing else).
_SCALARS = frozenset(
    _PREFIX + tag for tag in ("bool", "float", "int", "null", "timestamp", "binary")
)


#: What PyYAML's scalar constructors raise for a value their tag cannot hold.
BAD_SCALAR = (ValueError, KeyError, AttributeError, TypeError, OverflowError)


class _NotPlain(Exception):
    """The document holds something only SafeConstructor builds as it should."""


def document(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    """What ``loader.construct_document(node)`` returns, for a node ``loader`` composed."""
    try:
        return _value(loader, node, set())
    except (_NotPlain, RecursionError):
        pass  # RecursionError: SafeConstructor builds nested collections without recursing.
    try:
        return loader.construct_document(node)
    except BAD_SCALAR as exc:
        raise _unbuildable(node, exc) from exc


def _value(loader: yaml.SafeLoader, node: yaml.Node, seen: set[int]) -> Any:
    tag = node.tag
    if isinstance(node, yaml.ScalarNode):
        if tag == _STR:
            return node.value
        if tag in _SCALARS:
            try:
                return loader.yaml_constructors[tag](loader, node)
            except BAD_SCALAR as exc:
                raise _unbuildable(node, exc) from exc
        raise _NotPlain
    if id(node) in seen:
        raise _NotPlain  # an alias: SafeConstructor shares the value (and allows cycles)
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode) and tag == _MAP:
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag != _STR and (
                not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in _SCALARS
            ):
                raise _NotPlain  # merge keys, "=" keys, collections as keys, other tags
            mapping[_value(loader, key_node, seen)] = _value(loader, value_node, seen)
        return mapping
    if isinstance(node, yaml.SequenceNode) and tag == _SEQ:
        return [_value(loader, item, seen) for item in node.value]
    raise _NotPlain


def _unbuildable(node: yaml.Node, exc: Exception) -> yaml.constructor.ConstructorError:
    return yaml.constructor.ConstructorError(
        None,
        None,
        f"cannot build the !!{node.tag.removeprefix(_PREFIX)} value: {exc}",
        node.start_mark,
    )
