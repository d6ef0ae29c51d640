"""What a subgraph id may be, checked the same way by the service and by every sink.

An id is used as it is as one URL path segment, inside the graph IRI
``urn:kg-exporter:subgraph:<id>`` and (by two sinks) inside SPARQL ``<...>``, so it must be a valid
RFC 3986 path segment: ASCII letters, digits, ``-._~!$&'()*+,;=:@`` and well-formed ``%XX`` escapes,
never ``/``, ``?``, ``#``, a space, ``<`` or ``>``, and not a dot segment. Ids minted by
:mod:`kg_exporter.identity` always are.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from kg_exporter.errors import SinkRejected

#: Longest subgraph id accepted (ids minted by kg_exporter.identity stay far below).
MAX_ID_LENGTH = 1024

_ID = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})+")
_SEGMENT_SAFE = "-._~!$&'()*+,;=:@"


def id_problem(subgraph_id: str) -> str | None:
    """Why ``subgraph_id`` is not a valid id, or None when it is."""
    if not subgraph_id:
        return "the id is empty"
    if len(subgraph_id) > MAX_ID_LENGTH:
        return f"the id is longer than {MAX_ID_LENGTH} characters"
    if subgraph_id in {".", ".."}:
        return "'.' and '..' are not ids"
    if "/" in subgraph_id:
        return "an id cannot contain '/' (nor %2F)"
    if not _ID.fullmatch(subgraph_id):
        return "an id is ASCII letters, digits, -._~!$&'()*+,;=:@ and %XX escapes"
    return None


def id_path_segment(subgraph_id: str) -> str:
    """``subgraph_id`` as a URL path segment that decodes back to exactly it.

    ``%`` becomes ``%25`` (ids hold percent-escapes of their own), and dot segments are escaped so
    no URL normaliser can resolve them away: the server must see, and refuse, ``..`` itself.
    """
    segment = quote(subgraph_id, safe=_SEGMENT_SAFE)
    if segment in {".", ".."}:
        return segment.replace(".", "%2E")
    return segment


def checked_id(subgraph_id: str) -> str:
    """``subgraph_id`` itself, or :class:`SinkRejected` (400) before anything is sent: an invalid
    id would otherwise name another resource or, in a SPARQL sink, break out of its ``<...>``."""
    problem = id_problem(subgraph_id)
    if problem is not None:
        raise SinkRejected(400, f"invalid subgraph id {subgraph_id!r}: {problem}")
    return subgraph_id
