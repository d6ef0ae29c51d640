"""Facts → the snapshot's JSON-LD, through the templates in ``kg_templates/glaciation/``.

Each template renders a JSON array of node objects (a *fragment*) for one thing: a node, a pod, a
task, the cluster, ended resources, measurements. A snapshot is the fragments' node objects in one
``@graph`` (identical objects once: every pod names the same scheduler and units), wrapped by
``snapshot.json.j2`` with the platform's ``@context``. Rendering is pure and the templates are
compiled once, like the design's (:mod:`kg_exporter.render.renderer`), in the same environment:
every printed value is JSON-encoded by it, and a user's ``template_dir`` overrides
``glaciation/<name>.json.j2`` name by name.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import jinja2

from kg_exporter import resources
from kg_exporter.errors import RenderError
from kg_exporter.glaciation.config import GlaciationSettings
from kg_exporter.render.environment import RawJSON, load_template, make_environment

FRAGMENTS = ("node", "pod", "task", "cluster", "termination", "measurements")

Measurements = Mapping[str, list[dict[str, Any]]]


class SnapshotRenderer:
    def __init__(self, settings: GlaciationSettings, template_dir: Path | None = None) -> None:
        env = make_environment(resources.templates_dir(), template_dir)
        self._base = {
            "resource_base": settings.resource_base,
            "k8s_namespace": settings.k8s_namespace,
        }
        try:
            self._templates = {
                name: load_template(env, f"glaciation/{name}.json.j2")
                for name in (*FRAGMENTS, "snapshot")
            }
        except jinja2.TemplateError as exc:
            raise RenderError(f"cannot load a glaciation template: {exc}") from exc

    def node(self, node: Mapping[str, Any], measurements: Measurements) -> list[dict[str, Any]]:
        return self._fragment("node", node=node, measurements=measurements)

    def pod(self, pod: Mapping[str, Any], measurements: Measurements) -> list[dict[str, Any]]:
        return self._fragment("pod", pod=pod, measurements=measurements)

    def task(self, task: Mapping[str, Any]) -> list[dict[str, Any]]:
        return self._fragment("task", task=task)

    def cluster(self, name: str, nodes: Iterable[str]) -> list[dict[str, Any]]:
        return self._fragment("cluster", cluster={"name": name, "nodes": sorted(nodes)})

    def termination(self, ended: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        return self._fragment("termination", ended=list(ended))

    def measurements(self, measurements: Measurements) -> list[dict[str, Any]]:
        return self._fragment("measurements", measurements=measurements)

    def document(self, node_objects: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
        """The snapshot document holding ``node_objects``, each distinct object once."""
        seen: set[str] = set()
        graph = []
        for obj in node_objects:
            text = json.dumps(obj, sort_keys=True, ensure_ascii=True)
            if text not in seen:
                seen.add(text)
                graph.append(text)
        rendered = self._render("snapshot", graph=RawJSON("[" + ",".join(graph) + "]"))
        if not isinstance(rendered, dict):
            raise RenderError("template glaciation/snapshot.json.j2 must produce a JSON object")
        return rendered

    def _fragment(self, name: str, **variables: Any) -> list[dict[str, Any]]:
        rendered = self._render(name, **variables)
        if not isinstance(rendered, list) or not all(isinstance(o, dict) for o in rendered):
            raise RenderError(
                f"template glaciation/{name}.json.j2 must produce a JSON array of objects"
            )
        return rendered

    def _render(self, name: str, **variables: Any) -> Any:
        template = self._templates[name]
        try:
            text = template.render({**self._base, **variables})
        except jinja2.TemplateError as exc:
            raise RenderError(f"template {template.name}: {exc}") from exc
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise RenderError(
                f"template {template.name} produced invalid JSON at line {exc.lineno} column "
                f"{exc.colno}: {exc.msg}"
            ) from exc
