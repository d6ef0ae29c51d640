"""New subgraphs of batches, kept durable in files until enough are bulk-loaded together.

Why: a few new subgraphs written together (the PUTs a group commit gathers, a daemon's small
batch) are one RocksDB transaction, which costs ~7 index writes per statement (2.5 ms of CPU per
typical subgraph); Oxigraph's bulk loader writes the same for about half, but each load adds a
set of index files that RocksDB then compacts into the ones before, so it pays only from
thousands of statements on. So the service stages the new subgraphs of such small batches and
bulk-loads what is staged once it reaches :data:`STAGE_BYTES` of N-Quads (~1,000 typical
subgraphs), and whenever a read, or another write to one of them, needs them in the store.
A batch big enough to be bulk-loaded alone (a backfill's) is not staged: staging those too saved
6 % of the store's CPU for a 22,002-subgraph backfill and cost 146 MiB more memory.

Acknowledged means kept all the same: a batch's new subgraphs are written as one file of N-Quads
(``<store>/staged/<sequence>.nq``), synced, and renamed into place before the answer is sent, so
a batch cut short by a crash is staged whole or not at all. A store opened with files left there
loads them before it serves anything. A file is removed only once its statements are in the
store; a crash between the load and the removal loads them again, which changes nothing (a
graph is a set of statements, and nothing else writes to a staged subgraph before it is loaded).
"""

from __future__ import annotations

import io
import logging
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: Directory of staged batches, inside the store's directory.
DIRECTORY = "staged"
#: Staged N-Quads from which they are bulk-loaded in the background (~1,000 typical subgraphs),
#: and about the most one load takes. The files are streamed to the loader, not read whole, but
#: the loader holds ~5x what it loads in memory (measured: loads of 8 / 16 / 32 MiB raised the
#: peak by 81 / 146 / 271 MiB).
STAGE_BYTES = 16 * 1024 * 1024
_SUFFIX = ".nq"
_PARTIAL = ".partial"


@dataclass
class Staged:
    """Staged files (in the order they were staged), their sizes, and the ids of the subgraphs
    in them (those of files left by an earlier process are not known)."""

    files: list[tuple[Path, int]] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)

    @property
    def size(self) -> int:
        return sum(size for _, size in self.files)


class Staging:
    """The staged batches of one store directory. Thread-safe."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._lock = threading.Lock()
        self._staged = Staged()
        directory.mkdir(exist_ok=True)
        self._sequence = 0
        for path in directory.iterdir():
            if path.name.endswith(_PARTIAL):
                path.unlink()  # never renamed into place, so never acknowledged
            elif path.name.endswith(_SUFFIX):
                # Left by the previous process: not acknowledged as loaded. Their ids are not
                # known without parsing them; the store loads them before serving anything.
                self._staged.files.append((path, path.stat().st_size))
                self._sequence = max(self._sequence, int(path.name.removesuffix(_SUFFIX)) + 1)
        self._staged.files.sort()
        self._size = self._staged.size
        self._ids_of: dict[Path, list[str]] = {}

    @property
    def size(self) -> int:
        """Bytes of N-Quads staged."""
        return self._size

    def __contains__(self, subgraph_id: str) -> bool:
        return subgraph_id in self._staged.ids

    def __bool__(self) -> bool:
        return bool(self._staged.files)

    def stage(self, quads: bytes, ids: Iterable[str]) -> None:
        """Make ``quads``, the statements of the subgraphs ``ids``, durable as one file."""
        with self._lock:
            sequence = self._sequence
            self._sequence += 1
        path = self._directory / f"{sequence:012d}{_SUFFIX}"
        partial = path.with_name(path.name + _PARTIAL)
        with open(partial, "wb") as out:
            out.write(quads)
            out.flush()
            os.fdatasync(out.fileno())
        os.rename(partial, path)
        ids = list(ids)
        with self._lock:
            self._staged.files.append((path, len(quads)))
            self._staged.ids.update(ids)
            self._ids_of[path] = ids
            self._size += len(quads)

    def taken(self, most_bytes: int) -> Staged:
        """The files staged first, up to ``most_bytes`` (at least one, when any): load them,
        then :meth:`loaded`. Stages made meanwhile are not part of it."""
        taken = Staged()
        with self._lock:
            for path, size in self._staged.files:
                if taken.files and taken.size + size > most_bytes:
                    break
                taken.files.append((path, size))
                taken.ids.update(self._ids_of.get(path, ()))
        return taken

    def loaded(self, staged: Staged) -> None:
        """``staged`` is in the store now: forget it, and remove its files."""
        with self._lock:
            done = {path for path, _ in staged.files}
            self._staged.files = [item for item in self._staged.files if item[0] not in done]
            self._staged.ids -= staged.ids
            self._size -= staged.size
            for path in done:
                self._ids_of.pop(path, None)
        for path, _ in staged.files:
            path.unlink(missing_ok=True)


class StagedReader(io.RawIOBase):
    """The staged files one after the other, as one binary stream: what the bulk loader reads, a
    piece at a time, so that a load of many files never holds them all in memory. Use it through
    :func:`staged_stream`."""

    def __init__(self, staged: Staged) -> None:
        super().__init__()
        self._paths = [path for path, _ in staged.files]
        self._current: io.BufferedReader | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while True:
            if self._current is None:
                if not self._paths:
                    return 0
                self._current = open(self._paths.pop(0), "rb")  # closed at its end, or by close()
            count = self._current.readinto(buffer)
            if count:
                return count
            self._current.close()
            self._current = None

    def close(self) -> None:
        if self._current is not None:
            self._current.close()
            self._current = None
        super().close()


def staged_stream(staged: Staged) -> io.BufferedReader:
    return io.BufferedReader(StagedReader(staged), buffer_size=1024 * 1024)
