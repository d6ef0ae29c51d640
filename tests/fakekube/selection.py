"""Label and field selectors, parsed the way the apiserver parses them.

A selector the apiserver would reject is rejected here too (``ValueError`` → 400), so a client
that builds a malformed selector fails in tests rather than only against a real cluster.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .resources import Obj

# Label keys: optional DNS-subdomain prefix + "/" + name; values: up to 63 of [-A-Za-z0-9_.].
_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_TOKEN = re.compile(r"\s*(!=|==|=|\(|\)|,|!|[^\s!=(),]+)")


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!exists"
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op == "exists":
            return present
        if self.op == "!exists":
            return not present
        if self.op in ("=", "in"):
            return present and value in self.values
        # "!=" and "notin" match objects that lack the label altogether, as in Kubernetes.
        return not present or value not in self.values


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise ValueError(f"unable to parse requirement: {text[pos:]!r}")
        out.append(m.group(1))
        pos = m.end()
    return out


def _check_key(key: str) -> str:
    if not _KEY.match(key) or len(key.split("/")[-1]) > 63:
        raise ValueError(f"invalid label key {key!r}")
    return key


def _check_value(value: str) -> str:
    if not _VALUE.match(value) or len(value) > 63:
        raise ValueError(f"invalid label value: {value!r}")
    return value


def parse_label_selector(text: str | None) -> tuple[Requirement, ...]:
    """``a=b,c!=d,e in (x,y),f notin (z),g,!h`` → requirements (all must match)."""
    if not text or not text.strip():
        return ()
    toks = _tokens(text)
    reqs: list[Requirement] = []
    i = 0

    def take() -> str:
        nonlocal i
        if i >= len(toks):
            raise ValueError(f"unexpected end of label selector {text!r}")
        tok = toks[i]
        i += 1
        return tok

    while i < len(toks):
        tok = take()
        if tok == "!":
            reqs.append(Requirement(_check_key(take()), "!exists"))
        else:
            key = _check_key(tok)
            nxt = toks[i] if i < len(toks) else ","
            if nxt == ",":
                reqs.append(Requirement(key, "exists"))
            elif nxt in ("=", "==", "!="):
                i += 1
                value = toks[i] if i < len(toks) and toks[i] != "," else ""
                if value:
                    i += 1
                op = "!=" if nxt == "!=" else "="
                reqs.append(Requirement(key, op, frozenset({_check_value(value)})))
            elif nxt in ("in", "notin"):
                i += 1
                if take() != "(":
                    raise ValueError(f"expected '(' after {nxt} in {text!r}")
                values: set[str] = set()
                while True:
                    tok = take()
                    if tok == ")":
                        break
                    if tok == ",":
                        continue
                    values.add(_check_value(tok))
                if not values:
                    raise ValueError(f"{nxt} needs at least one value in {text!r}")
                reqs.append(Requirement(key, nxt, frozenset(values)))
            else:
                raise ValueError(f"unexpected {nxt!r} in label selector {text!r}")
        if i < len(toks):
            if toks[i] != ",":
                raise ValueError(f"expected ',' in label selector {text!r}")
            i += 1
            if i == len(toks):
                raise ValueError(f"trailing ',' in label selector {text!r}")
    return tuple(reqs)


@dataclass(frozen=True)
class FieldRequirement:
    path: tuple[str, ...]  # "metadata.name" → ("metadata", "name")
    value: str
    negated: bool

    def matches(self, obj: Obj) -> bool:
        cur: Any = obj
        for part in self.path:
            cur = cur.get(part) if isinstance(cur, dict) else None
        # Fields compare as strings; a missing field compares as "" (as the apiserver does).
        actual = "" if cur is None else str(cur)
        return (actual != self.value) if self.negated else (actual == self.value)


def parse_field_selector(text: str | None) -> tuple[FieldRequirement, ...]:
    """``metadata.name=x,metadata.namespace!=y,status.phase==Running``.

    Any dotted path is accepted (the real apiserver allows only a per-kind list), so pod
    selectors like ``spec.nodeName`` work too.
    """
    if not text or not text.strip():
        return ()
    reqs: list[FieldRequirement] = []
    for part in text.split(","):
        m = re.fullmatch(r"\s*([A-Za-z0-9_.]+)\s*(!=|==|=)\s*(.*?)\s*", part)
        if not m:
            raise ValueError(f"invalid field selector: {part!r}")
        path, op, value = m.groups()
        reqs.append(FieldRequirement(tuple(path.split(".")), value, op == "!="))
    return tuple(reqs)


@dataclass(frozen=True)
class Selector:
    labels: tuple[Requirement, ...] = ()
    fields: tuple[FieldRequirement, ...] = ()

    @classmethod
    def parse(cls, label_selector: str | None, field_selector: str | None) -> Selector:
        return cls(parse_label_selector(label_selector), parse_field_selector(field_selector))

    def matches(self, obj: Obj | None) -> bool:
        if obj is None:
            return False
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(r.matches(labels) for r in self.labels) and all(
            f.matches(obj) for f in self.fields
        )
