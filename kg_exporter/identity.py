"""Deterministic subgraph ids and entity IRIs.

Identity is (cluster id, kind, namespace, name) — never the uid, which changes when an object is
re-created — so the same workload maps to the same id across restarts and replicas, and a Deployment
``web`` in two namespaces (or a Deployment and a StatefulSet both named ``web``) never collide.

Subgraph ids are ``:``-separated, each component percent-encoded down to RFC 3986 unreserved
characters, so an id is plain ASCII, holds no ``/`` and is never ``.`` or ``..``: it can be put in a
URL path segment as it is. Components longer than :data:`MAX_ID_COMPONENT` are shortened to a prefix
plus a SHA-256 digest, which keeps ids (and so URLs) bounded whatever the input.

Entity IRIs live under the configured ``iri_base``; every path segment is percent-encoded the same way.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import quote

#: Longest id component kept verbatim; Kubernetes names are at most 253 characters.
MAX_ID_COMPONENT = 253
_KEEP_PREFIX = 64

#: Named graphs holding subgraphs are ``urn:kg-exporter:subgraph:<id>`` in every store.
SUBGRAPH_GRAPH_PREFIX = "urn:kg-exporter:subgraph:"


class SubgraphKind(StrEnum):
    """The six kinds of subgraph; the value is also the template's base name."""

    WORKLOAD = "workload"
    WORKLOAD_TELEMETRY = "workload-telemetry"
    NODE = "node"
    NODE_TELEMETRY = "node-telemetry"
    GLACIATION_NODE = "glaciation-node"
    GLACIATION_NODE_TELEMETRY = "glaciation-node-telemetry"


@dataclass(frozen=True, slots=True)
class ObjectKey:
    """Identity of a Kubernetes object: its kind, namespace (None when cluster-scoped) and name."""

    kind: str
    namespace: str | None
    name: str

    def __str__(self) -> str:
        if self.namespace is None:
            return f"{self.kind}/{self.name}"
        return f"{self.kind}/{self.namespace}/{self.name}"


_UNRESERVED = re.compile(r"[A-Za-z0-9._~-]+")
_RESERVED_ASCII = re.compile(r"[^A-Za-z0-9._~-]")


def _percent(match: re.Match[str]) -> str:
    return f"%{ord(match.group(0)):02X}"


def encode_segment(value: str) -> str:
    """Percent-encode one IRI path segment: everything but unreserved characters, and the dot
    segments ``.``/``..`` too (IRI resolution would otherwise remove them)."""
    if _UNRESERVED.fullmatch(value) and value not in {".", ".."}:
        return value  # the common case, and much cheaper than quote()
    if value.isascii():
        # What quote() gives for ASCII (one byte per character), without its loop over every
        # byte in Python: label keys (``app.kubernetes.io/name``) come here on every render.
        encoded = _RESERVED_ASCII.sub(_percent, value)
    else:
        encoded = quote(value, safe="-._~")
    if encoded in {".", ".."}:
        return encoded.replace(".", "%2E")
    return encoded


def _id_component(value: str) -> str:
    encoded = encode_segment(value)
    if len(encoded) <= MAX_ID_COMPONENT:
        return encoded
    digest = hashlib.sha256(value.encode("utf-8")).hexdigest()[:32]
    return f"{encode_segment(value[:_KEEP_PREFIX])[: _KEEP_PREFIX * 3]}~{digest}"


def _join_id(*components: str) -> str:
    return ":".join(_id_component(component) for component in components)


def workload_subgraph_id(cluster: str, key: ObjectKey, *, telemetry: bool = False) -> str:
    """``<cluster>:workload[-telemetry]:<kind>:<namespace>:<name>``."""
    kind = SubgraphKind.WORKLOAD_TELEMETRY if telemetry else SubgraphKind.WORKLOAD
    return _join_id(cluster, kind.value, key.kind.lower(), key.namespace or "", key.name)


def node_subgraph_id(cluster: str, name: str, *, telemetry: bool = False) -> str:
    """``<cluster>:node[-telemetry]:<name>``."""
    kind = SubgraphKind.NODE_TELEMETRY if telemetry else SubgraphKind.NODE
    return _join_id(cluster, kind.value, name)


def glaciation_node_subgraph_id(cluster: str, node_id: str, *, telemetry: bool = False) -> str:
    """``<cluster>:glaciation-node[-telemetry]:<glaciation node id>``."""
    kind = SubgraphKind.GLACIATION_NODE_TELEMETRY if telemetry else SubgraphKind.GLACIATION_NODE
    return _join_id(cluster, kind.value, node_id)


def subgraph_graph_iri(subgraph_id: str) -> str:
    """The named-graph IRI under which a store keeps the subgraph ``subgraph_id``."""
    return SUBGRAPH_GRAPH_PREFIX + subgraph_id


def subgraph_id_from_graph_iri(iri: str) -> str | None:
    """Inverse of :func:`subgraph_graph_iri`; None for graphs that are not ours."""
    if iri.startswith(SUBGRAPH_GRAPH_PREFIX):
        return iri[len(SUBGRAPH_GRAPH_PREFIX) :]
    return None


@dataclass(frozen=True, slots=True)
class Iris:
    """Mints entity IRIs under ``base`` for one cluster."""

    base: str
    cluster: str

    def _iri(self, *segments: str) -> str:
        return self.base + "/".join(encode_segment(s) for s in (self.cluster, *segments))

    def cluster_iri(self) -> str:
        return self._iri()

    def glaciation_node(self, node_id: str) -> str:
        return self._iri("glaciation-node", node_id)

    def workload(self, key: ObjectKey) -> str:
        return self._iri(key.kind.lower(), key.namespace or "", key.name)

    def node(self, name: str) -> str:
        return self._iri("node", name)

    def pvc(self, namespace: str, name: str) -> str:
        return self._iri("persistentvolumeclaim", namespace, name)

    def service(self, kind: str) -> str:
        """The data service (prometheus, loki, grafana) this cluster's telemetry is served by."""
        return self._iri("data-service", kind)

    @staticmethod
    def child(parent: str, *segments: str) -> str:
        """An IRI for a part of an entity (its status, a container, a metric)."""
        if len(segments) == 1:  # most calls: without the generator
            return parent + "/" + encode_segment(segments[0])
        return parent + "".join("/" + encode_segment(s) for s in segments)
