"""One object through its kind's entry: what it says about its lifecycle, and the compact facts
the templates need (its projection).

The projection is an allow-list built here, never the object: container ``env``, MiniCluster
``environment``, ``secrets``, secret volumes and the last-applied annotation cannot reach it,
whatever a rule returns. It is what the daemon keeps per object (encoded), and everything a
workload's documents are rendered from. A rule that fails leaves the object pending and is
reported in :attr:`Extract.problems`; a path that fails reads as absent.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from kg_exporter import objects as o
from kg_exporter.errors import RenderError
from kg_exporter.identity import ObjectKey
from kg_exporter.kinds.cel import MAX_LIST, MAX_TOTAL, Budget, EvaluationError, context_for, prune
from kg_exporter.kinds.data import data_of
from kg_exporter.kinds.registry import KindRegistry
from kg_exporter.kinds.spec import GROUPS, KindSpec
from kg_exporter.render.podlabels import colliding_keys
from kg_exporter.render.promql import escape_regex
from kg_exporter.state.lifecycle import Observation, Outcome, Phase

#: Annotations never kept: they copy whole manifests (env values included), or name the secret
#: the ORAS operator's sidecar takes its registry credentials from.
EXCLUDED_ANNOTATIONS = frozenset(
    {
        "kubectl.kubernetes.io/last-applied-configuration",
        "deployment.kubernetes.io/revision-history",
        "meta.helm.sh/release-values",
        "oras.converged-computing.github.io/oras-env",
    }
)
#: Claims per {"prefix", "count"} beyond which only the first are linked (StatefulSet ordinals).
MAX_CLAIM_ORDINALS = 1000
#: Items of any list read from an object beyond which the rest are ignored (hostile objects).
MAX_ITEMS = 1000
#: Children declared per workload beyond which the rest are ignored (hostile objects).
MAX_DECLARED = 256
#: Lifecycle results remembered per kind (a few hundred bytes each).
MAX_REMEMBERED = 4096


@dataclass(frozen=True, slots=True)
class Extract:
    key: ObjectKey
    uid: str | None
    #: The controlling owner, when it is of a configured kind.
    owner: ObjectKey | None
    observation: Observation
    #: The projection: what the templates are rendered from (JSON-serialisable).
    facts: dict[str, Any]
    #: Rules that failed, one line each (``lifecycle.running: no such key 'status'``).
    problems: tuple[str, ...] = ()


def object_key(obj: Mapping[str, Any], kinds: KindRegistry) -> ObjectKey:
    """The identity of a workload object; :class:`RenderError` if it has none."""
    kind = obj.get("kind")
    if kind not in kinds:
        raise RenderError(f"not a workload kind: {kind!r} (known: {', '.join(kinds)})")
    assert isinstance(kind, str)
    name = o.name_of(obj)
    if name is None:
        raise RenderError(f"{kind} without metadata.name")
    return ObjectKey(kind, o.namespace_of(obj) if kinds[kind].namespaced else None, name)


def controlling_owner(
    obj: Mapping[str, Any], kinds: KindRegistry, namespace: str | None
) -> ObjectKey | None:
    for raw in o.sequence(o.metadata(obj).get("ownerReferences"))[:MAX_ITEMS]:
        ref = o.mapping(raw)
        if ref.get("controller") is not True:
            continue
        spec = kinds.owner_spec(ref.get("apiVersion"), ref.get("kind"))
        name = o.text(ref.get("name"))
        if spec is None or name is None:
            return None
        return ObjectKey(spec.kind, namespace if spec.namespaced else None, name)
    return None


def is_folded(obj: Mapping[str, Any], kinds: KindRegistry) -> bool:
    """Whether ``obj`` is part of its controlling owner's workload (not exported on its own): its
    owner is of a configured kind whose entry does not export this kind. No rule is evaluated."""
    kind = obj.get("kind")
    spec = kinds.get(kind)
    if spec is None:
        return False
    namespace = o.namespace_of(obj) if spec.namespaced else None
    owner = controlling_owner(obj, kinds, namespace)
    if owner is None:
        return False
    rule = kinds[owner.kind].child(spec.kind)
    return rule is None or not rule.export


class _Evaluator:
    """Evaluates one object's expressions, converting the (pruned) object for CEL only once."""

    def __init__(self, spec: KindSpec, obj: Mapping[str, Any], budget: Budget | None = None) -> None:
        self.spec = spec
        self._obj = obj
        # Declared children share their parent's: MAX_TOTAL bounds the whole event's CEL work.
        self.budget = budget if budget is not None else Budget()
        self._context: Any = None
        self._pruned: Any = None
        self.problems: list[str] = []

    def pruned(self) -> Any:
        if self._pruned is None:
            budget = self.budget
            self._pruned = prune(self._obj, self.spec.needs, budget)
            if budget.cut:  # bounded for CEL's quadratic macros: kinds/cel.py, MAX_LIST
                self.problems.append(
                    f"rules read only the first {MAX_LIST} items of each list"
                    f" ({MAX_TOTAL} in all) of this object"
                )
        return self._pruned

    def context(self) -> Any:
        if self._context is None:
            self._context = context_for(self.pruned())
        return self._context

    def value(self, name: str, *, rule: bool = False) -> Any:
        expression = self.spec.rules.get(name)
        if expression is None:
            return None
        if expression.program is not None and self._context is None:
            self.context()
        try:
            return expression.evaluate(self._context, self._obj)
        except EvaluationError as exc:
            if rule or not exc.missing:
                self.problems.append(f"{name}: {exc}")
            if rule:
                raise
            return None

    def flag(self, name: str) -> bool:
        value = self.value(name, rule=True)
        if value is None or isinstance(value, bool):
            return value is True
        message = f"{name}: gave {type(value).__name__}, not bool"
        self.problems.append(message)
        raise EvaluationError(message, missing=False)


def _first_time(value: Any, depth: int = 0) -> str | None:
    if isinstance(value, list) and depth < 4:
        for item in value[:MAX_ITEMS]:
            found = _first_time(item, depth + 1)
            if found is not None:
                return found
        return None
    return o.timestamp(value)


def _stopped(spec: KindSpec, outcome: Any, started: Any, ended: Any) -> Observation:
    start = _first_time(started)
    return Observation(
        Phase.STOPPED,
        started_at=start,
        ended_at=_first_time(ended),
        outcome=Outcome(outcome) if outcome in ("succeeded", "failed") else None,
        start_known=start is not None and not spec.clock_timed,
    )


def _running(spec: KindSpec, started: Any, created: str | None) -> Observation:
    # The creation time is a guess, and so is the started_at rule of a kind timed by the clock.
    start = _first_time(started)
    known = start is not None and not spec.clock_timed
    return Observation(Phase.RUNNING, started_at=start or created, start_known=known)


def _observation(spec: KindSpec, said: list[Any], created: str | None) -> Observation:
    state = said[0]
    if state == 2:
        return _stopped(spec, said[1], said[2], said[3])
    if state == 1:
        return Observation(Phase.STOPPED)
    if state == 3:
        return _running(spec, said[1], created)
    return Observation(Phase.PENDING)


def _observe(ev: _Evaluator, created: str | None) -> Observation:
    program = ev.spec.lifecycle
    if program is None:
        return Observation(Phase.PENDING)
    try:
        # The rules are pure functions of the cut-down object, and most events of an object (and
        # many objects) give the same one: what it said is remembered, keyed by its exact bytes.
        key = orjson.dumps(ev.pruned())
    except (TypeError, orjson.JSONEncodeError):
        key = None
    said = ev.spec.said.get(key) if key is not None else None
    if said is None:
        try:
            said = program.evaluate(ev.context(), {})
        except EvaluationError:
            said = None
        if key is not None and said is not None:
            if len(ev.spec.said) >= MAX_REMEMBERED:
                del ev.spec.said[next(iter(ev.spec.said))]
            ev.spec.said[key] = said
    if said is not None:
        outcome = said[1] if said[0] == 2 else None
        if outcome is None or outcome in ("succeeded", "failed"):
            return _observation(ev.spec, said, created)
    # The rules one by one say which failed and how.
    try:
        if ev.flag("lifecycle.stopped"):
            return _stopped(
                ev.spec,
                ev.value("lifecycle.outcome"),
                ev.value("lifecycle.started_at"),
                ev.value("lifecycle.ended_at"),
            )
        if ev.flag("lifecycle.suspended"):
            return Observation(Phase.STOPPED)
        if ev.flag("lifecycle.running"):
            return _running(ev.spec, ev.value("lifecycle.started_at"), created)
    except EvaluationError:
        return Observation(Phase.PENDING)
    return Observation(Phase.PENDING)


def _templates(value: Any) -> Iterator[tuple[str | None, Mapping[str, Any]]]:
    """(group, PodTemplateSpec) pairs from what ``pods.templates`` gave."""
    items = value[:MAX_ITEMS] if isinstance(value, list) else [value]
    for item in items:
        item = o.mapping(item)
        if "template" in item and "spec" not in item:
            yield o.text(item.get("group")), o.mapping(item.get("template"))
        elif item:
            yield None, item


def _quantities(value: object) -> dict[str, Any]:
    return {
        k: v
        for k, v in list(o.mapping(value).items())[:MAX_ITEMS]
        if isinstance(k, str) and isinstance(v, str | int | float) and not isinstance(v, bool)
    }


def _container(raw: object, group: str | None, *, init: bool) -> dict[str, Any] | None:
    container = o.mapping(raw)
    name = o.text(container.get("name"))
    if name is None:
        return None
    resources = o.mapping(container.get("resources"))
    out: dict[str, Any] = {"name": name, "image": o.text(container.get("image")), "init": init}
    if group is not None:
        out["group"] = group
    for section in ("requests", "limits"):
        values = _quantities(resources.get(section))
        if values:
            out[section] = values
    return out


def _claims(value: Any, names: set[str], sets: set[tuple[str, int]], depth: int = 0) -> None:
    if isinstance(value, list) and depth < 4:
        for item in value[:MAX_ITEMS]:
            _claims(item, names, sets, depth + 1)
    elif isinstance(value, str) and value:
        names.add(value)
    elif isinstance(value, Mapping):
        prefix, count = o.text(value.get("prefix")), o.integer(value.get("count"))
        if prefix is not None:
            sets.add((prefix, min(max(count if count is not None else 1, 0), MAX_CLAIM_ORDINALS)))


def _annotation_maps(value: Any, depth: int = 0) -> Iterator[dict[str, str]]:
    if isinstance(value, list) and depth < 4:
        for item in value[:MAX_ITEMS]:
            yield from _annotation_maps(item, depth + 1)
    elif isinstance(value, Mapping):
        yield o.string_map(value)


def pod_regex(name: str, suffix: str, groups: list[str]) -> str:
    if GROUPS in suffix:
        alternation = "|".join(escape_regex(g) for g in groups) if groups else "[a-z0-9-]+"
        suffix = suffix.replace(GROUPS, f"(?:{alternation})")
    return escape_regex(name) + suffix


def _pod_labels(ev: _Evaluator) -> list[list[str]] | None:
    """The ``pods.labels`` map as sorted [key, value] pairs; None when the pods go by name: the kind
    does not select by labels, or the map is absent, empty or unusable (then by name, logged)."""
    if not ev.spec.select_by_labels:
        return None
    value = ev.value("pods.labels")
    if value is None:
        return None
    if not isinstance(value, Mapping):
        ev.problems.append(f"pods.labels: gave {type(value).__name__}, not a map; pods by name")
        return None
    pairs = sorted(
        [k, v] for k, v in list(value.items())[:MAX_ITEMS] if isinstance(k, str) and k
        and isinstance(v, str)
    )  # fmt: skip
    if len(pairs) != len(value):
        ev.problems.append("pods.labels: keys and values must be non-empty strings; pods by name")
        return None
    same = colliding_keys(k for k, _ in pairs)
    if same:
        ev.problems.append(
            f"pods.labels: {', '.join(same)} are one label name in kube-state-metrics; pods by name"
        )
        return None
    return pairs or None


def extract(obj: Mapping[str, Any], kinds: KindRegistry) -> Extract:
    """Evaluate ``obj``'s kind entry on it; :class:`RenderError` if it is not a workload."""
    key = object_key(obj, kinds)
    ev = _Evaluator(kinds[key.kind], obj)
    created = o.timestamp(o.metadata(obj).get("creationTimestamp"))
    observation = _observe(ev, created)
    facts = _project(obj, key, ev, created)
    declared = _declared(ev, key, kinds)
    if declared:
        facts["declared"] = declared
    owner = controlling_owner(obj, kinds, key.namespace)
    if owner is not None:
        facts["owner"] = [owner.kind, owner.name]
    return Extract(key, facts["uid"], owner, observation, facts, tuple(ev.problems))


def _declared(ev: _Evaluator, key: ObjectKey, kinds: KindRegistry) -> list[dict[str, Any]]:
    """The projections of the children the object's spec declares (an Ensemble's member
    MiniClusters), each read with its kind's entry as the object its controller will create:
    named by the entry's ``name``, with that spec. Their own declared children are not read."""
    out: list[dict[str, Any]] = []
    for kind, rule, pattern in ev.spec.declared:
        spec = kinds.get(kind)
        if spec is None:
            continue
        for index, raw in enumerate(o.sequence(ev.value(rule))[:MAX_DECLARED]):
            name = pattern.format(name=key.name, index=index)
            meta: dict[str, Any] = {"name": name}
            if key.namespace is not None:
                meta["namespace"] = key.namespace
            child = {"apiVersion": spec.api_version, "kind": kind, "metadata": meta,
                     "spec": o.mapping(raw)}  # fmt: skip
            child_key = ObjectKey(kind, key.namespace if spec.namespaced else None, name)
            child_ev = _Evaluator(spec, child, ev.budget)
            out.append(_project(child, child_key, child_ev, None))
            ev.problems.extend(f"{rule}[{index}] ({kind}) {p}" for p in child_ev.problems)
    return out


def _project(
    obj: Mapping[str, Any], key: ObjectKey, ev: _Evaluator, created: str | None
) -> dict[str, Any]:
    """The projection: the allow-list of what templates may see of ``obj``."""
    spec = ev.spec
    meta = o.metadata(obj)
    containers: list[dict[str, Any]] = []
    annotation_maps = [o.string_map(meta.get("annotations"))]
    claims: set[str] = set()
    claim_sets: set[tuple[str, int]] = set()
    groups: list[str] = []
    node: str | None = None
    for group, template in _templates(ev.value("pods.templates")):
        pod = o.mapping(template.get("spec"))
        if group is not None and group not in groups:
            groups.append(group)
        for section, init in (("initContainers", True), ("containers", False)):
            for raw in o.sequence(pod.get(section))[:MAX_ITEMS]:
                container = _container(raw, group, init=init)
                if container is not None:
                    containers.append(container)
        node = node or o.text(pod.get("nodeName"))
        for volume in o.sequence(pod.get("volumes"))[:MAX_ITEMS]:
            claim = o.mapping(o.mapping(volume).get("persistentVolumeClaim")).get("claimName")
            _claims(claim, claims, claim_sets)
        annotation_maps.append(o.string_map(o.metadata(template).get("annotations")))
    declared = ev.value("pods.containers")
    for raw in o.sequence(declared)[:MAX_ITEMS]:
        group = o.text(o.mapping(raw).get("group"))
        container = _container(raw, group, init=o.mapping(raw).get("init") is True)
        if container is not None:
            containers.append(container)
    _claims(ev.value("data.claims"), claims, claim_sets)
    annotation_maps.extend(_annotation_maps(ev.value("data.annotations")))
    namespace = key.namespace or "default"
    uses, produces = data_of(annotation_maps, namespace)
    annotations = {
        k: v for k, v in annotation_maps[0].items() if k not in EXCLUDED_ANNOTATIONS
    }  # fmt: skip
    facts: dict[str, Any] = {
        "kind": key.kind,
        "name": key.name,
        "namespace": key.namespace,
        "uid": o.text(meta.get("uid")),
        "created": created,
        "labels": o.string_map(meta.get("labels")),
        "annotations": annotations,
        "replicas": o.integer(o.mapping(obj.get("spec")).get("replicas")),
        "containers": containers,
        "node": node,
        "claims": sorted(claims),
        "claim_sets": sorted(claim_sets),
        "uses": uses,
        "produces": produces,
        "pods": pod_regex(key.name, spec.pod_suffix, groups),
    }
    pod_labels = _pod_labels(ev)
    if pod_labels is not None:
        facts["pod_labels"] = pod_labels
    return facts
