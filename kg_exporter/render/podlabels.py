"""Selecting a workload's pods by their labels in PromQL, through kube-state-metrics.

cAdvisor, kubelet, Kepler and DCGM series name a pod (namespace, pod) but carry none of its labels,
so a selection by labels joins them with kube-state-metrics' ``kube_pod_labels`` (value 1, one
series per pod, labels ``label_<sanitised key>``):

    rate(container_cpu_usage_seconds_total{namespace="ns",container!=""}[5m])
      * on(namespace,pod) group_left()
      max by (namespace,pod) (kube_pod_labels{namespace="ns",label_app="web"})

``max by`` leaves at most one series per pod on the right, so the join cannot fail with "many-to-many
matching" when kube_pod_labels holds two series of one pod (two kube-state-metrics replicas, or a pod
recreated under its name with a new uid, both inside the lookback window); ``group_left()`` keeps the
left side's labels and lets several containers of one pod match that one series. Several selections
(an owner's and its children's) are a union: ``max by (...) (A or B)``.

kube-state-metrics names a label ``label_`` + the key with every character but ``[a-zA-Z0-9_]``
replaced by ``_``, a lower-case-or-digit-then-upper-case pair split by ``_``, all lower-cased
(its ``labelName``, ``SanitizeLabelName`` and ``toSnakeCase``), and exports
only the keys its ``--metric-labels-allowlist=pods=[...]`` names. Two keys one pod carries that
sanitise to the same name become ``..._conflict1``, ``_conflict2``: which is which depends on the
pod's other labels, so a selection whose own keys collide is refused (:func:`colliding_keys`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from kg_exporter.render.promql import selector

#: The kube-state-metrics series that carries pod labels.
KUBE_POD_LABELS = "kube_pod_labels"
_INVALID = re.compile(r"[^a-zA-Z0-9_]")
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")


def ksm_label_name(key: str) -> str:
    """The label kube-state-metrics gives the pod label ``key`` on ``kube_pod_labels``."""
    return "label_" + _CAMEL.sub(r"\1_\2", _INVALID.sub("_", key)).lower()


def colliding_keys(keys: Iterable[str]) -> list[str]:
    """Keys that kube-state-metrics would give the same label name as another key (sorted)."""
    by_name: dict[str, list[str]] = {}
    for key in keys:
        by_name.setdefault(ksm_label_name(key), []).append(key)
    return sorted(k for same in by_name.values() if len(same) > 1 for k in same)


def pod_label_join(
    parts: Sequence[Mapping[str, object]], namespace: str, namespace_label: str, pod_label: str
) -> str:
    """``* on(ns,pod) group_left() max by (ns,pod) (...)``: what to append to a vector of pod
    series to keep those of the pods ``parts`` select. A part is ``{"labels": [[key, value],
    ...]}`` (pod labels, all required) or ``{"regex": pattern}`` (pod names, for the parts of a
    workload that go by name)."""
    selections = []
    for part in parts:
        matchers = [(namespace_label, "=", namespace)]
        regex = part.get("regex")
        if isinstance(regex, str):
            matchers.append((pod_label, "=~", regex))
        else:
            pairs = part.get("labels")
            assert isinstance(pairs, list)
            matchers.extend((ksm_label_name(str(k)), "=", str(v)) for k, v in pairs)
        selections.append(KUBE_POD_LABELS + selector(matchers))
    on = f"{namespace_label},{pod_label}"
    union = " or ".join(dict.fromkeys(selections))
    return f" * on({on}) group_left() max by ({on}) ({union})"
