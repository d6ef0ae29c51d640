"""A kind entry compiled: its CEL expressions, what of an object they can reach, its pod-name
regex checked. Compiled once at start-up; a problem is one error naming the entry and field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kg_exporter.kinds import celcore as cel
from kg_exporter.kinds.cel import (
    Expression,
    ExpressionError,
    Needs,
    compile_expression,
    needs_of,
)
from kg_exporter.kinds.entry import ChildRule, KindEntry
from kg_exporter.kinds.podnames import expand

#: The fields of an entry that hold CEL, by section.
RULE_FIELDS = {
    "lifecycle": ("stopped", "outcome", "suspended", "running", "started_at", "ended_at"),
    "pods": ("templates", "containers", "labels"),
    "data": ("claims", "annotations"),
}
#: A pod-name suffix when the entry gives none: anything after the name and a dash.
DEFAULT_SUFFIX = "-[a-z0-9]([-a-z0-9]*[a-z0-9])?"
GROUPS = "{groups}"


class KindError(ValueError):
    """A kind entry that cannot be used; ``field`` is the dotted name of the culprit."""

    def __init__(self, kind: str, field: str, message: str) -> None:
        super().__init__(f"kind {kind}: {field}: {message}")
        self.kind = kind
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class KindSpec:
    """Everything the exporter knows about one workload kind."""

    kind: str
    group: str
    #: Served versions, preferred first.
    versions: tuple[str, ...]
    plural: str
    namespaced: bool
    class_iri: str
    #: Compiled expressions by dotted field name (``lifecycle.running``); absent fields omitted.
    rules: Mapping[str, Expression]
    #: What of an object the CEL-evaluated expressions may read (see kinds/cel.py).
    needs: Needs | str
    #: ``pods.name_suffix`` with its placeholders expanded (``{groups}`` is left for extract.py).
    pod_suffix: str
    clock_timed: bool
    children: Mapping[str, ChildRule] = field(default_factory=dict)
    #: Whether its pods are selected by the labels ``pods.labels`` gives (``select_by: labels``).
    select_by_labels: bool = False
    #: Children declared in the object's spec: (child kind, key of its rule in ``rules``, name).
    declared: tuple[tuple[str, str, str], ...] = ()
    #: All lifecycle rules as one program (see :func:`lifecycle_program`); None without rules.
    lifecycle: Expression | None = None
    #: What the lifecycle program said, by its exact input (see extract.py); bounded.
    said: dict[bytes, list[Any]] = field(default_factory=dict, compare=False, repr=False)

    @property
    def version(self) -> str:
        return self.versions[0]

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def child(self, kind: str) -> ChildRule | None:
        return self.children.get(kind)


def regex_problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot go into a PromQL/LogQL ``=~`` matcher (RE2), or None."""
    try:
        re.compile(pattern)
    except re.error as exc:
        return f"not a regular expression: {exc}"
    # Python accepts what RE2 (Prometheus, Loki) refuses: lookaround and backreferences.
    if re.search(r"\(\?<?[=!]|\\[1-9]", pattern):
        return "RE2 has no lookaround or backreferences"
    return None


def lifecycle_program(rules: Mapping[str, Expression]) -> Expression | None:
    """The lifecycle rules as one CEL program, evaluated in the order extract.py checks them:
    ``[2, outcome, started_at, ended_at]`` (stopped), ``[1]`` (suspended), ``[3, started_at]``
    (running) or ``[0]``. One evaluation instead of up to six; when it fails, the rules are
    evaluated one by one to say which failed."""

    def part(name: str, absent: str) -> str:
        rule = rules.get(f"lifecycle.{name}")
        return f"({rule.source})" if rule is not None else absent

    if not any(f"lifecycle.{n}" in rules for n in ("stopped", "suspended", "running")):
        return None
    started = part("started_at", "null")
    source = (
        f"{part('stopped', 'false')} ? [2, {part('outcome', 'null')}, {started}, "
        f"{part('ended_at', 'null')}] : ({part('suspended', 'false')} ? [1] : "
        f"({part('running', 'false')} ? [3, {started}] : [0]))"
    )
    return Expression(source, None, cel.compile(source))


def compile_entry(entry: KindEntry) -> KindSpec:
    """Compile ``entry``; :class:`KindError` names the field at fault."""
    if entry.group is None or entry.versions is None or entry.plural is None:
        # The registry merges an amending entry into the one it amends before compiling it.
        raise KindError(entry.kind, "group", "required (with versions and plural)")
    rules: dict[str, Expression] = {}
    for section, names in RULE_FIELDS.items():
        values: Any = getattr(entry, section)
        for name in names:
            source = getattr(values, name)
            if source is None:
                continue
            try:
                rules[f"{section}.{name}"] = compile_expression(source)
            except ExpressionError as exc:
                raise KindError(entry.kind, f"{section}.{name}", str(exc)) from None
    suffix = expand(entry.pods.name_suffix if entry.pods.name_suffix is not None else DEFAULT_SUFFIX)
    problem = regex_problem(suffix.replace(GROUPS, "(?:a|b)"))
    if problem is not None:
        raise KindError(entry.kind, "pods.name_suffix", problem)
    by_labels = entry.pods.select_by == "labels"
    if by_labels and "pods.labels" not in rules:
        raise KindError(
            entry.kind,
            "pods.select_by",
            "selecting pods by labels needs pods.labels (CEL giving the map of labels the "
            "workload's pods carry, e.g. object.spec.selector.matchLabels)",
        )
    if not by_labels:
        # Compiled (so a mistake is reported) but never evaluated: the pods go by name.
        rules.pop("pods.labels", None)
    children: dict[str, ChildRule] = {}
    declared: list[tuple[str, str, str]] = []
    for i, child in enumerate(entry.children):
        if child.kind in children:
            raise KindError(entry.kind, f"children[{i}]", f"{child.kind} is listed twice")
        children[child.kind] = child
        if child.declared is not None:
            key = f"children[{i}].declared"
            rules[key] = _declared_rule(entry.kind, key, child)
            declared.append((child.kind, key, child.name))
    return KindSpec(
        kind=entry.kind,
        group=entry.group,
        versions=entry.versions,
        plural=entry.plural,
        namespaced=entry.namespaced,
        class_iri=entry.class_,
        rules=rules,
        needs=needs_of(e.source for e in rules.values()),
        pod_suffix=suffix,
        clock_timed=entry.lifecycle.times == "observed",
        select_by_labels=by_labels,
        children=children,
        declared=tuple(declared),
        lifecycle=lifecycle_program(rules),
    )


def _declared_rule(kind: str, key: str, child: ChildRule) -> Expression:
    """A ``children[i].declared`` expression, checked with the ``name`` it goes with."""
    field_name = key.rsplit(".", 1)[0]
    if not child.pods:
        raise KindError(kind, key, "needs pods: true (declared children give their pods)")
    try:
        named = child.name.format(name="a", index=0)
    except (KeyError, IndexError, ValueError) as exc:
        raise KindError(kind, f"{field_name}.name", f"only {{name}} and {{index}}: {exc}") from None
    if named == child.name.format(name="a", index=1):
        raise KindError(kind, f"{field_name}.name", "must hold {index}: children need names")
    assert child.declared is not None
    try:
        return compile_expression(child.declared)
    except ExpressionError as exc:
        raise KindError(kind, key, str(exc)) from None
