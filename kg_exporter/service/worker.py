"""A worker process of the reference Metadata Service: JSON-LD bodies in, N-Triples out, or SPARQL
queries in, results out (``python -m kg_exporter.service.worker ROLE MEMORY_BYTES``; the service
starts these itself, see :mod:`kg_exporter.service.workers`).

Why a process: the parsers and the query engine are native code that can crash (stack overflow),
allocate without bound, or run for minutes, and none of them can be interrupted from Python. In a
process of its own, each of those ends one worker — killed after its time limit, stopped by its
memory limit (``RLIMIT_DATA``) — instead of the service. The kernel's OOM killer is also told to
prefer a worker (``oom_score_adj`` 1000) to the service when the container runs out of memory.

The protocol on stdin/stdout is a sequence of frames, each a JSON header and a byte payload; the
first one the service sends holds the JSON-LD context and the limits, then each request gets one
answer, in order. Nothing is pickled: a worker is fed hostile input, so what it answers is read
as data only.
"""

from __future__ import annotations

import fcntl
import json
import os
import resource
import struct
import sys
from collections.abc import Mapping
from typing import Any, BinaryIO

HEAD = struct.Struct(">IQ")  # header length, payload length
PARSE, QUERY = "parse", "query"
#: Many bodies in one request (a batch's documents): see :func:`join_bodies`.
PARSE_MANY = "parse-many"
_LENGTH = struct.Struct(">I")


def encode_frame(header: Mapping[str, Any], payload: bytes = b"") -> bytes:
    encoded = json.dumps(header).encode("utf-8")
    return HEAD.pack(len(encoded), len(payload)) + encoded + payload


def join_bodies(bodies: list[bytes]) -> bytes:
    """The payload of a :data:`PARSE_MANY` request: each body after its length."""
    return b"".join(_LENGTH.pack(len(body)) + body for body in bodies)


def split_bodies(payload: bytes) -> list[bytes]:
    bodies, offset = [], 0
    while offset < len(payload):
        (size,) = _LENGTH.unpack_from(payload, offset)
        offset += _LENGTH.size
        bodies.append(payload[offset : offset + size])
        offset += size
    return bodies


def _read_frame(stream: BinaryIO) -> tuple[dict[str, Any], bytes] | None:
    head = stream.read(HEAD.size)
    if len(head) < HEAD.size:
        return None
    header_size, payload_size = HEAD.unpack(head)
    header = json.loads(stream.read(header_size))
    return header, stream.read(payload_size)


class _Handler:
    def __init__(self, context: Mapping[str, Any], limits: Mapping[str, Any]) -> None:
        from kg_exporter.service.limits import Limits
        from kg_exporter.sink.jsonld import Compactor

        # One compactor for the life of the worker: its cache of IRIs is what makes the check
        # that an accepted body reads back cheap.
        self.readable = Compactor(context)
        self.limits = Limits(**limits)
        self._snapshot: tuple[str, Any] | None = None

    def handle(self, header: Mapping[str, Any], payload: bytes) -> tuple[dict[str, Any], bytes]:
        from kg_exporter.service.validation import BadRequest

        try:
            if header["op"] == PARSE:
                return self.parse(payload, header.get("format"))
            if header["op"] == PARSE_MANY:
                return self.parse_many(payload, header.get("format"))
            return self.query(header["snapshot"], payload)
        except BadRequest as exc:
            return {"ok": False, "status": exc.status, **exc.body()}, b""
        except MemoryError:
            return _failed(422, "over the memory limit", "it needs more memory than allowed"), b""

    def _checked(self, body: bytes, body_format: str | None) -> tuple[bytes, int]:
        from kg_exporter.service.validation import (
            N_TRIPLES,
            checked_ntriples,
            checked_statements,
        )

        check = checked_ntriples if body_format == N_TRIPLES else checked_statements
        return check(body, self.limits, self.readable)

    def parse(self, body: bytes, body_format: str | None) -> tuple[dict[str, Any], bytes]:
        """A JSON-LD body's statements, or with ``body_format`` ``n-triples`` an N-Triples one's."""
        statements, count = self._checked(body, body_format)
        return {"ok": True, "triples": count}, statements

    def parse_many(self, payload: bytes, body_format: str | None) -> tuple[dict[str, Any], bytes]:
        """Each body as :meth:`parse` answers it, in order: a result per body in the header
        (with the size of its statements), the statements one after the other as the payload."""
        from kg_exporter.service.validation import BadRequest, batch_too_large

        results: list[dict[str, Any]] = []
        parsed: list[bytes] = []
        size = 0
        for body in split_bodies(payload):
            try:
                statements, count = self._checked(body, body_format)
            except BadRequest as exc:
                results.append({"ok": False, "status": exc.status, **exc.body()})
                continue
            size += len(statements)
            if size > self.limits.max_statement_bytes:
                # Small bodies can expand without bound: what one batch holds is bounded too,
                # here and in the service (batch.py), so that no answer carries more.
                refused = batch_too_large(self.limits)
                return {"ok": False, "status": refused.status, **refused.body()}, b""
            results.append({"ok": True, "triples": count, "size": len(statements)})
            parsed.append(statements)
        return {"ok": True, "results": results}, b"".join(parsed)

    def query(self, snapshot: str, text: bytes) -> tuple[dict[str, Any], bytes]:
        from kg_exporter.service.queries import run_query

        answer = run_query(self._open(snapshot), text.decode("utf-8"), self.limits)
        return {"ok": True, "content_type": answer.content_type}, answer.body

    def _open(self, path: str) -> Any:
        import pyoxigraph as ox

        if self._snapshot is None or self._snapshot[0] != path:
            self._snapshot = None  # close the older snapshot before opening the newer
            self._snapshot = (path, ox.Store.read_only(path))
        return self._snapshot[1]


def _failed(status: int, error: str, detail: str) -> dict[str, Any]:
    return {"ok": False, "status": status, "error": error, "detail": detail}


#: Linux's F_SETPIPE_SZ (fcntl has the name from Python 3.10 on Linux only).
_F_SETPIPE_SZ = 1031
#: Pipe buffer asked for: a batch's 32 documents (~200 KB) and their statements (~450 KB) go
#: through in a few reads and writes rather than one per 64 KiB (the default), each an event-loop
#: wakeup in the service.
PIPE_BYTES = 1024 * 1024


def _widen_pipes(*fds: int) -> None:
    """Both pipes to the service (resizing either end resizes the pipe)."""
    for fd in fds:
        try:
            fcntl.fcntl(fd, _F_SETPIPE_SZ, PIPE_BYTES)
        except OSError:
            pass  # not Linux, not a pipe, or over /proc/sys/fs/pipe-max-size: the default then


def _confine(memory_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_DATA, (memory_bytes, memory_bytes))
    try:
        with open("/proc/self/oom_score_adj", "w") as adj:
            adj.write("1000")
    except OSError:
        pass  # not Linux, or not allowed: the memory limit still holds


def main(argv: list[str]) -> int:
    role, memory_bytes = argv[0], int(argv[1])
    # Frames go to the real stdout; anything else writing to fd 1 (native code included) would
    # corrupt them, so fd 1 becomes stderr.
    frames_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    _widen_pipes(sys.stdin.fileno(), frames_out.fileno())
    # Imported before the memory limit applies, and before the first request pays for it.
    import pyoxigraph  # noqa: F401

    import kg_exporter.service.validation

    if role == QUERY:
        import rdflib.plugins.sparql.algebra  # noqa: F401

        import kg_exporter.service.queries  # noqa: F401

        # rdflib's parser recurses ~15 Python frames per level of nesting; the nesting is bounded
        # (max_query_depth) before it runs, and this process's main thread has the full stack.
        sys.setrecursionlimit(10_000)
    first = _read_frame(sys.stdin.buffer)
    if first is None:
        return 0
    handler = _Handler(first[0]["context"], first[0]["limits"])
    _confine(memory_bytes)
    frames_out.write(encode_frame({"ok": True, "ready": True}))
    frames_out.flush()
    while (frame := _read_frame(sys.stdin.buffer)) is not None:
        answer, payload = handler.handle(*frame)
        frames_out.write(encode_frame(answer, payload))
        frames_out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
