"""What the work queue holds: which subgraphs need writing, never the data itself.

- an :class:`~kg_exporter.identity.ObjectKey` of a workload kind: its workload + telemetry;
- ``ObjectKey("Node", None, name)``: a node's two subgraphs;
- :data:`GLACIATION_KIND` keys: the glaciation node (its member list) and its telemetry;
- :class:`Orphan`: a subgraph the Metadata Service shows whose object no longer exists (found
  when reconciling at start-up): stopped if it still says running.
"""

from __future__ import annotations

from dataclasses import dataclass

from kg_exporter.identity import ObjectKey, SubgraphKind

GLACIATION_KIND = "GlaciationNode"


def glaciation_key(glaciation_node_id: str) -> ObjectKey:
    return ObjectKey(GLACIATION_KIND, None, glaciation_node_id)


@dataclass(frozen=True, slots=True)
class Orphan:
    subgraph_id: str
    kind: SubgraphKind

    def __str__(self) -> str:
        return f"orphan {self.subgraph_id}"


WorkKey = ObjectKey | Orphan
