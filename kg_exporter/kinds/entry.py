"""A kind entry as it is written: in the bundled kinds file, a user's ``kinds:`` setting or a
``--kinds-config`` file. Structure only (pydantic refuses unknown fields, naming them); the CEL in
it is compiled by :mod:`kg_exporter.kinds.spec`. Every field is described in docs/kinds.md."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

_KIND = r"^[A-Z][A-Za-z0-9]{0,62}$"
_NAME = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"


class _Entry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class LifecycleRules(_Entry):
    """When the workload runs and stops. Checked in this order: ``stopped`` (with ``outcome``),
    ``suspended`` (stopped, no outcome), ``running``; none true: pending."""

    stopped: str | None = Field(None, description="CEL bool: it has ended.")
    outcome: str | None = Field(
        None, description='CEL, when stopped: "succeeded", "failed", or null (no outcome).'
    )
    suspended: str | None = Field(
        None, description="CEL bool: paused (its pods are gone); a stop without outcome."
    )
    running: str | None = Field(None, description="CEL bool: it has started.")
    started_at: str | None = Field(
        None,
        description="CEL: when it started (RFC 3339), or a list of candidates (the first valid "
        "one wins); a running workload without one started at its creation.",
    )
    ended_at: str | None = Field(None, description="CEL: when it stopped, like started_at.")
    times: Literal["object", "observed"] = Field(
        "object",
        description="`observed`: the object does not say when it started or stopped, so the "
        "times are when the daemon saw the change (started_at only for objects found at start-up).",
    )


class PodRules(_Entry):
    templates: str | None = Field(
        None,
        description="CEL path to its pod template(s): a PodTemplateSpec, or a list of them or of "
        '{"group": name, "template": PodTemplateSpec} (the group tells containers of different '
        "templates apart).",
    )
    containers: str | None = Field(
        None,
        description='CEL: containers it declares outside pod templates, a list of {"name", '
        '"image", "resources", "group", "init"}; other keys are ignored.',
    )
    name_suffix: str | None = Field(
        None,
        description="RE2 matching its pod names after its own (escaped) name; `{groups}` stands "
        "for the escaped template groups as an alternation, `{random}` for the 5 characters "
        "Kubernetes appends to a generated name, `{hash}` for a pod-template-hash and `{index}` "
        "for an ordinal or index.",
    )
    labels: str | None = Field(
        None,
        description="CEL: a map of pod labels every pod of the workload carries (e.g. "
        "object.spec.selector.matchLabels), read only when `select_by` is `labels`.",
    )
    select_by: Literal["name", "labels"] = Field(
        "name",
        description="`labels`: PromQL selects its pods by the `labels` map, joined with "
        "kube-state-metrics' kube_pod_labels (cAdvisor series carry no pod labels); `name` "
        "(default): by the pod-name pattern.",
    )


class DataRules(_Entry):
    claims: str | None = Field(
        None,
        description='CEL: claim names beyond the templates\' volumes: strings or {"prefix", '
        '"count"} (claims <prefix>-0 ... <prefix>-<count-1>), in lists at any depth.',
    )
    annotations: str | None = Field(
        None,
        description="CEL: annotation maps (or lists of them) that may hold data annotations, "
        "beyond the object's and its pod templates'.",
    )


class ChildRule(_Entry):
    """How objects of ``kind`` controlled by this kind count. By default they are folded in: not
    exported, no influence."""

    kind: str = Field(pattern=_KIND)
    lifecycle: bool = Field(
        False,
        description="The workload runs while any such child runs, and stops when all have "
        "stopped (failed if any failed); its own rules apply until a child is seen.",
    )
    times: bool = Field(
        False,
        description="The workload started when the first such child started (as the child's own "
        "rules state it), unless its own rules state a start; stopped without an end of its own, "
        "it ended when the last of them did, once all have ended.",
    )
    pods: bool = Field(
        False, description="Their containers, pods and data are this workload's too."
    )
    export: bool = Field(
        False, description="Export them as workloads of their own, part of this one."
    )
    declared: str | None = Field(
        None,
        description="CEL: the specs of the children of this kind the workload's controller "
        "creates from it, in order. Each is read with the child kind's own entry, as an object "
        "named `name` with that spec, so their containers, claims, data annotations and pod "
        "names are the workload's (with `pods: true`) before the children exist; a child that "
        "exists replaces the declared one of its name.",
    )
    name: str = Field(
        "{name}-{index}",
        description="The name of the declared child at position {index} (from 0) of a workload "
        "named {name}.",
    )


class KindEntry(_Entry):
    """A kind. Without ``group``, ``versions`` and ``plural`` it amends the entry of that kind
    configured before it (bundled, or in the kinds file): each section it gives replaces the fields
    of that section it sets, each other field it sets replaces that field (see
    :func:`amend`)."""

    kind: str = Field(pattern=_KIND, description="The Kubernetes kind, e.g. RayJob.")
    group: str | None = Field(
        None,
        pattern=r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?)?$",
        description="API group; '' for core.",
    )
    versions: tuple[str, ...] | None = Field(
        None, min_length=1, description="Served versions to try, preferred first."
    )
    plural: str | None = Field(None, pattern=_NAME, description="The resource name, e.g. rayjobs.")
    namespaced: bool = Field(True, description="False for cluster-scoped kinds.")
    class_: str = Field(
        "k8s:Workload",
        alias="class",
        pattern=r"^(k8s|kgx|glc):[A-Za-z][A-Za-z0-9]*$|^https?://\S+$",
        description="Class of its workload node, besides k8s:Workload (a CURIE or an IRI).",
    )
    lifecycle: LifecycleRules = Field(default_factory=LifecycleRules)
    pods: PodRules = Field(default_factory=PodRules)
    data: DataRules = Field(default_factory=DataRules)
    children: tuple[ChildRule, ...] = ()

    @property
    def amends(self) -> bool:
        """Whether it amends a configured kind rather than defining one."""
        return self.group is None and self.versions is None and self.plural is None


#: What a kind needs beyond amending: the fields that say where the API serves it.
WHERE_SERVED = ("group", "versions", "plural")


def amend(base: KindEntry, patch: KindEntry) -> KindEntry:
    """``base`` with what ``patch`` sets: a section's fields one by one (``pods: {select_by:
    labels}`` keeps the rest of ``pods``), any other field whole (``children``, ``class``)."""
    update: dict[str, object] = {}
    for name in patch.model_fields_set - {"kind"}:
        value = getattr(patch, name)
        if isinstance(value, _Entry):
            section = getattr(base, name)
            update[name] = section.model_copy(
                update={f: getattr(value, f) for f in value.model_fields_set}
            )
        else:
            update[name] = value
    return base.model_copy(update=update)
