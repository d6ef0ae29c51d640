"""Kubernetes object + settings → subgraph id + JSON-LD document. Pure: no I/O after construction.

A :class:`Renderer` loads and compiles the six templates once (so a broken template fails at start,
not at the first event) and is then safe to call from any number of tasks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import quote_plus

import jinja2
import orjson

from kg_exporter import objects as o
from kg_exporter import resources
from kg_exporter.errors import RenderError
from kg_exporter.identity import (
    Iris,
    ObjectKey,
    SubgraphKind,
    glaciation_node_subgraph_id,
    node_subgraph_id,
    workload_subgraph_id,
)
from kg_exporter.kinds import NODE_KIND, KindRegistry, extract, registry_for
from kg_exporter.render.environment import RawJSON, load_template, make_environment
from kg_exporter.render.facts import Lifecycle, node_facts, workload_facts
from kg_exporter.render.promql import escape_regex
from kg_exporter.settings import Settings

TEMPLATE_SUFFIX = ".json.j2"


@dataclass(frozen=True, slots=True)
class Subgraph:
    """One rendered subgraph: what to PUT (``document``) under which id."""

    id: str
    kind: SubgraphKind
    document: dict[str, Any]


def _url(value: object) -> str:
    return str(value).rstrip("/")


class Renderer:
    """Renders the six subgraph kinds for one cluster's settings."""

    def __init__(self, settings: Settings, *, kinds: KindRegistry | None = None) -> None:
        self.settings = settings
        #: The workload kinds, built from ``settings`` unless given (compiled once, shared).
        self.kinds = kinds if kinds is not None else registry_for(settings)
        self.iris = Iris(settings.iri_base, settings.cluster_id)
        gnode_iri = self.iris.glaciation_node(settings.glaciation_node_id)
        grafana = _url(settings.grafana_url)
        self._common: dict[str, Any] = {
            "context": RawJSON(json.dumps(resources.context(), ensure_ascii=True)),
            "cluster": {"id": settings.cluster_id, "iri": self.iris.cluster_iri()},
            "glaciation_node": {
                "id": settings.glaciation_node_id,
                "iri": gnode_iri,
                "url": _url(settings.glaciation_node_url),
                "telemetry_iri": Iris.child(gnode_iri, "telemetry"),
            },
            "prometheus": {
                "url": _url(settings.prometheus_url),
                "iri": self.iris.service("prometheus"),
            },
            "loki": {"url": _url(settings.loki_url), "iri": self.iris.service("loki")},
            "grafana": {"url": grafana, "iri": self.iris.service("grafana")},
            "dashboards": settings.dashboards,
            "labels": settings.labels,
            "rate_window": settings.rate_window,
            "dashboard_url": partial(dashboard_url, grafana),
        }
        # Shared values are environment globals, so each render passes only its own variables.
        env = make_environment(resources.templates_dir(), settings.template_dir, self._common)
        try:
            self._templates = {
                kind: load_template(env, kind.value + TEMPLATE_SUFFIX) for kind in SubgraphKind
            }
        except jinja2.TemplateError as exc:
            raise RenderError(f"cannot load template: {_describe_template_error(exc)}") from exc

    def _render(self, kind: SubgraphKind, subgraph_id: str, **variables: Any) -> Subgraph:
        template = self._templates[kind]
        try:
            text = template.render(variables)
        except jinja2.TemplateError as exc:
            raise RenderError(f"template {template.name}: {_describe_template_error(exc)}") from exc
        try:
            # orjson parses our own output in half the time json does (measured: bench/render.py);
            # it refuses integers beyond 64 bits, which json then reads.
            document = orjson.loads(text)
        except orjson.JSONDecodeError:
            document = None
        try:
            document = json.loads(text) if document is None else document
        except json.JSONDecodeError as exc:
            # Only a template with literal JSON mistakes gets here: printed values are encoded.
            raise RenderError(
                f"template {template.name} produced invalid JSON at line {exc.lineno} "
                f"column {exc.colno}: {exc.msg}"
            ) from exc
        if not isinstance(document, dict):
            raise RenderError(f"template {template.name} must produce a JSON object")
        return Subgraph(subgraph_id, kind, document)

    def workload(
        self, obj: Mapping[str, Any], *, lifecycle: Lifecycle | None = None
    ) -> tuple[Subgraph, Subgraph]:
        """The workload and workload-telemetry subgraphs of an object of a configured kind.

        ``lifecycle`` is what the daemon observed; without it the object's own status decides.
        """
        extracted = extract(obj, self.kinds)
        if lifecycle is None:
            lifecycle = Lifecycle.from_observation(extracted.observation)
        return self.workload_from(extracted.facts, lifecycle)

    def workload_from(
        self,
        projection: Mapping[str, Any],
        lifecycle: Lifecycle,
        *,
        inherited: Sequence[Mapping[str, Any]] = (),
    ) -> tuple[Subgraph, Subgraph]:
        """The two subgraphs from a projection (:func:`kg_exporter.kinds.extract`) and those of
        the children whose pods are this workload's (``inherited``)."""
        spec = self.kinds.get(projection["kind"])
        if spec is None:
            raise RenderError(f"kind {projection['kind']!r} is no longer configured")
        part_of = None
        owner = projection.get("owner")
        if owner is not None:
            owner_spec = self.kinds.get(owner[0])
            rule = owner_spec.child(spec.kind) if owner_spec is not None else None
            if owner_spec is not None and rule is not None and rule.export:
                namespace = projection["namespace"] if owner_spec.namespaced else None
                part_of = self.iris.workload(ObjectKey(owner[0], namespace, owner[1]))
        facts = workload_facts(
            projection,
            self.iris,
            lifecycle,
            class_iri=spec.class_iri,
            inherited=inherited,
            part_of=part_of,
        )
        facts["telemetry_iri"] = Iris.child(facts["iri"], "telemetry")
        key = ObjectKey(projection["kind"], projection["namespace"], projection["name"])
        cluster = self.settings.cluster_id
        return (
            self._render(SubgraphKind.WORKLOAD, workload_subgraph_id(cluster, key), workload=facts),
            self._render(
                SubgraphKind.WORKLOAD_TELEMETRY,
                workload_subgraph_id(cluster, key, telemetry=True),
                workload=facts,
            ),
        )

    def node(
        self, obj: Mapping[str, Any], *, present: bool = True, left_at: str | None = None
    ) -> tuple[Subgraph, Subgraph]:
        """The node and node-telemetry subgraphs; ``present=False`` once the node has left the
        cluster, at ``left_at`` (RFC 3339) when known."""
        if obj.get("kind", NODE_KIND) != NODE_KIND:
            raise RenderError(f"not a Node: {obj.get('kind')!r}")
        name = o.name_of(obj)
        if name is None:
            raise RenderError("Node without metadata.name")
        facts = node_facts(obj, name, self.iris, present=present, left_at=left_at)
        facts["telemetry_iri"] = Iris.child(facts["iri"], "telemetry")
        facts["instance_regex"] = escape_regex(name) + "(:[0-9]+)?"
        cluster = self.settings.cluster_id
        return (
            self._render(SubgraphKind.NODE, node_subgraph_id(cluster, name), node=facts),
            self._render(
                SubgraphKind.NODE_TELEMETRY,
                node_subgraph_id(cluster, name, telemetry=True),
                node=facts,
            ),
        )

    def glaciation_node(self, node_names: Iterable[str]) -> tuple[Subgraph, Subgraph]:
        """The glaciation-node subgraph (listing its worker nodes) and its telemetry."""
        members = [{"name": name, "iri": self.iris.node(name)} for name in sorted(set(node_names))]
        cluster, gnode = self.settings.cluster_id, self.settings.glaciation_node_id
        return (
            self._render(
                SubgraphKind.GLACIATION_NODE,
                glaciation_node_subgraph_id(cluster, gnode),
                members=members,
            ),
            self._render(
                SubgraphKind.GLACIATION_NODE_TELEMETRY,
                glaciation_node_subgraph_id(cluster, gnode, telemetry=True),
                members=members,
            ),
        )


_PLAIN = re.compile(r"[A-Za-z0-9._~-]*")


def _query_value(value: str) -> str:
    return value if _PLAIN.fullmatch(value) else quote_plus(value, safe="")


def dashboard_url(grafana: str, uid: str, **variables: str) -> str:
    """``{grafana}/d/{uid}?var-k=v&...``: a Grafana dashboard with its template variables set."""
    query = "&".join(f"var-{k}={_query_value(v)}" for k, v in variables.items())
    return f"{grafana}/d/{_query_value(uid)}?{query}"


def _describe_template_error(exc: jinja2.TemplateError) -> str:
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return f"{exc.filename or exc.name}:{exc.lineno}: {exc.message}"
    if isinstance(exc, jinja2.TemplateNotFound):
        return f"template {exc.name!r} not found"
    return str(exc)
