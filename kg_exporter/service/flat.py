"""JSON-LD bodies of the flat profile (what kg-exporter renders) read by the service itself.

Why: pyoxigraph's JSON-LD parser costs ~0.15 ms of CPU per rendered subgraph, and in a body
worker another ~0.15 ms of round trip; together about half of what the service spent per
subgraph in a daemon's burst. The documents kg-exporter renders are all of one simple shape,
which :mod:`kg_exporter.flatld` writes as N-Triples directly, in about a third of the parse,
cheap enough for the service's own thread (no round trip at all).

The answer stays exactly what the parser's path gives, for every body:

- the checks a body gets before any parser sees it (size, nesting, keywords, contexts:
  :func:`~kg_exporter.service.validation.checked_statements`) run first, the same function, so
  a body they refuse gets the same refusal;
- :mod:`~kg_exporter.flatld` says what pyoxigraph would say or nothing, and whatever it does not
  take, or takes but the parser's path would refuse or check further (no statement, more than
  ``limits.max_triples``, a statement that may not read back), goes on to the parser as before;
- a PUT body is read only when it is the compact JSON of the object it holds, byte for byte (as
  every kg-exporter client sends it, and as a batch's documents are turned back into bodies):
  then nothing a JSON reader may see differently (a repeated key, another spelling of a number
  or a string) can make the object say something the body does not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from kg_exporter import flatld
from kg_exporter.service.limits import Limits
from kg_exporter.service.validation import (
    IN_PROCESS_BYTES,
    check_body,
    may_not_read_back,
)
from kg_exporter.sink.jsonld import Compactor

#: How much longer than its body a document's N-Triples may be on this path (rendered: ~3x).
_EXPANSION = 8


def flat_statements(
    body: bytes,
    limits: Limits,
    readable: Compactor | None,
    document: Mapping[str, Any] | None = None,
) -> tuple[bytes, int] | None:
    """The statements of the JSON-LD ``body`` and how many, as
    :func:`~kg_exporter.service.validation.checked_statements` gives them (the same lines, maybe in
    another order), or None when the body must go to the parser; raises
    :class:`~kg_exporter.service.validation.BadRequest` as that function does for what is refused
    before parsing. ``document``: the object ``body`` is the compact JSON of, when the caller
    has it (a batch line); without it, it is read from ``body``."""
    if len(body) > IN_PROCESS_BYTES:
        return None  # the parser's path reads it in a worker, under the time and memory limits
    check_body(body, limits)
    if document is None:
        document = _compact_object(body)
        if document is None:
            return None
    # Bounded: a small body can expand to many MB (a long prefix used many times), which only a
    # parser under a memory limit may build; rendered documents expand ~3x.
    statements = flatld.to_ntriples(document, max_chars=_EXPANSION * len(body) + 1024)
    if not statements:
        return None  # outside the profile, over the bound, or no statement: the parser's path
    count = statements.count(b"\n")
    if count > limits.max_triples:
        return None  # refused by the parser's path, with its words
    if readable is not None and may_not_read_back(statements, readable.terms):
        return None  # the full check, on parsed triples
    return statements, count


def _compact_object(body: bytes) -> dict[str, Any] | None:
    """The object ``body`` holds when ``body`` is exactly its compact JSON (orjson's), else None."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if type(document) is not dict or orjson.dumps(document) != body:
        return None
    return document
