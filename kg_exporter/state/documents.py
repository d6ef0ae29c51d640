"""Reading and amending what the Metadata Service holds, for keys the daemon has no object for.

At start-up the daemon does not know what an earlier run wrote. :func:`stored_lifecycle` reads the
status a stored workload/node subgraph states and :func:`stored_uid` the instance it describes, so
a workload already written as running is not written again (and keeps its recorded start time),
while one the graph holds for another instance (deleted and re-created under the same name while
the daemon was down) is recognised as ended. A workload the graph shows running whose object
was deleted while the daemon was down has nothing left to render from: :func:`mark_stopped` amends
the stored document itself — its status becomes stopped with an end time, nothing else changes.

Both read the documents as sinks return them: JSON-LD compacted with the product's context, where
the status is the node typed ``glc:Status`` holding ``kgx:phase``.
"""

from __future__ import annotations

import copy
from collections.abc import Container, Iterator, Mapping
from typing import Any

from kg_exporter.identity import ObjectKey
from kg_exporter.kinds import NODE_KIND
from kg_exporter.objects import timestamp
from kg_exporter.render.facts import Lifecycle
from kg_exporter.state.lifecycle import Outcome, Phase

PHASE = "kgx:phase"
START = "glc:startTime"
END = "glc:endTime"
OUTCOME = "kgx:outcome"
READY = "kgx:ready"
STATUS_TYPE = "glc:Status"
KIND = "kgx:kind"
NAME = "kgx:name"
NAMESPACE = "kgx:namespace"
UID = "kgx:uid"
NODE_TYPE = "k8s:Node"
HAS_STATUS = "glc:hasStatus"
_DATETIME = "xsd:dateTime"


def _nodes(document: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    graph = document.get("@graph")
    if isinstance(graph, list):
        yield from (n for n in graph if isinstance(n, dict))
    elif isinstance(document, dict) and "@id" in document:
        yield document


def _types(node: Mapping[str, Any]) -> list[Any]:
    value = node.get("@type")
    return value if isinstance(value, list) else [value]


def _status_node(document: Mapping[str, Any]) -> dict[str, Any] | None:
    for node in _nodes(document):
        if STATUS_TYPE in _types(node) and PHASE in node:
            return node
    return None


def _literal(value: object) -> str | None:
    if isinstance(value, dict):
        value = value.get("@value")
    if isinstance(value, list) and len(value) == 1:
        return _literal(value[0])
    return value if isinstance(value, str) else None


def stored_lifecycle(document: Mapping[str, Any] | None) -> Lifecycle | None:
    """The lifecycle a stored subgraph states; None when there is none or it states none."""
    if document is None:
        return None
    status = _status_node(document)
    if status is None:
        return None
    try:
        phase = Phase(_literal(status.get(PHASE)) or "")
        outcome_text = _literal(status.get(OUTCOME))
        outcome = Outcome(outcome_text) if outcome_text else None
    except ValueError:
        return None
    return Lifecycle(
        phase,
        started_at=timestamp(_literal(status.get(START))),
        ended_at=timestamp(_literal(status.get(END))),
        outcome=outcome,
    )


def mark_stopped(document: Mapping[str, Any], ended_at: str) -> dict[str, Any] | None:
    """A copy of ``document`` whose running status is now stopped at ``ended_at`` (a node's
    ``kgx:ready`` becomes false too); None when it does not state a running status."""
    amended = copy.deepcopy(dict(document))
    status = _status_node(amended)
    if status is None or _literal(status.get(PHASE)) != Phase.RUNNING.value:
        return None
    status[PHASE] = Phase.STOPPED.value
    status[END] = {"@value": ended_at, "@type": _DATETIME}
    for node in _nodes(amended):
        if READY in node:
            node[READY] = False
    return amended


def stored_uid(document: Mapping[str, Any] | None) -> str | None:
    """The uid of the instance a stored workload or node subgraph describes (``kgx:uid``); None
    when it states none (a document written without one cannot be told apart from the live
    object, so callers treat it as the same instance)."""
    if document is None:
        return None
    for node in _nodes(document):
        if UID in node:
            return _literal(node.get(UID))
    return None


def described_key(
    document: Mapping[str, Any], kinds: Container[str] | None = None
) -> ObjectKey | None:
    """The object a stored workload or node subgraph describes, from its own statements;
    ``kinds``: the workload kinds to recognise (default: any a workload states)."""
    for node in _nodes(document):
        kind, name = _literal(node.get(KIND)), _literal(node.get(NAME))
        if kind is not None and (kinds is None or kind in kinds) and name:
            return ObjectKey(kind, _literal(node.get(NAMESPACE)), name)
        if NODE_TYPE in _types(node) and HAS_STATUS in node and name:
            return ObjectKey(NODE_KIND, None, name)
    return None
