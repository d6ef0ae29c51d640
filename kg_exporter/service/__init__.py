"""The reference Metadata Service: the ``/subgraph`` API on an embedded Oxigraph store."""

from kg_exporter.service.app import create_app
from kg_exporter.service.server import serve
from kg_exporter.service.store import PutResult, SubgraphStore

__all__ = ["PutResult", "SubgraphStore", "create_app", "serve"]
