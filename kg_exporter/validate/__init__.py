"""Validate rendered JSON-LD offline: pyld with a loader that fetches nothing, rdflib, and the SHACL
shapes in ``ontology/shapes.ttl``.

- :func:`to_graph` — document → rdflib graph; :class:`~kg_exporter.errors.ValidationFailed` if it
  refers to a remote context, drops keys, has relative IRIs or blank nodes, or states nothing.
- :func:`validate_document` — document → :class:`ValidationReport` (``conforms``, ``messages``).
- :func:`assert_valid` — raise :class:`~kg_exporter.errors.ValidationFailed` unless a
  :class:`~kg_exporter.render.renderer.Subgraph` (or document) conforms; for tests.
- :func:`validate_files` — the ``kg-exporter validate FILE...`` command; returns the exit code.
"""

from kg_exporter.validate.document import ValidationReport, assert_valid, validate_document
from kg_exporter.validate.files import validate_files
from kg_exporter.validate.graph import DocumentRejected, to_graph
from kg_exporter.validate.loader import RemoteDocumentRefused, refusing_loader

__all__ = [
    "DocumentRejected",
    "RemoteDocumentRefused",
    "ValidationReport",
    "assert_valid",
    "refusing_loader",
    "to_graph",
    "validate_document",
    "validate_files",
]
