"""The reference Metadata Service: the ``/subgraph`` API on an embedded Oxigraph store.

Names are imported on first use: the service's worker processes import modules of this package
and must not pay for aiohttp and the rest of the server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kg_exporter.lazy import lazy_attributes

if TYPE_CHECKING:
    from kg_exporter.service.app import create_app
    from kg_exporter.service.limits import Limits
    from kg_exporter.service.server import serve
    from kg_exporter.service.store import PutResult, SubgraphStore

_LAZY = {
    "create_app": "kg_exporter.service.app",
    "Limits": "kg_exporter.service.limits",
    "serve": "kg_exporter.service.server",
    "PutResult": "kg_exporter.service.store",
    "SubgraphStore": "kg_exporter.service.store",
}

__all__ = ["Limits", "PutResult", "SubgraphStore", "create_app", "serve"]


def __getattr__(name: str) -> Any:
    return _attribute(name)


_attribute = lazy_attributes(__name__, _LAZY, globals())
