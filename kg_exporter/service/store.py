"""Subgraphs as named graphs in an embedded Oxigraph store.

Each subgraph ``id`` is the named graph ``urn:kg-exporter:subgraph:<id>``, so SPARQL can join
across subgraphs. Three properties hold, and the tests check each:

- **Acknowledged means kept.** Every write is a single Oxigraph transaction, committed (RocksDB
  write-ahead log written) before the method returns, so a process killed right after a 2xx loses
  nothing. The log is not fsync'ed per write: a kernel crash or power cut can lose the last writes,
  as with Oxigraph's own server.
- **A replace is all or nothing.** Creating is one ``load``; replacing is one SPARQL update
  (``DELETE DATA``/``INSERT DATA`` of the difference, or ``DROP``/``INSERT DATA`` when blank nodes
  make a difference meaningless), never a remove followed by a load that a crash could split.
  The new subgraphs of a batch on disk are staged in a synced file first and bulk-loaded with
  others later (:mod:`kg_exporter.service.staging`); every read, and every other write to one of
  them, loads what is staged first, so nothing can tell them from stored ones.
- **Writers to one id take turns.** Oxigraph transactions do not detect conflicts, so two replaces
  of one graph computed from the same snapshot could both apply and leave a mix of bodies. A lock
  per id (striped, so memory stays flat) serialises them; writes to different ids interleave.

Speed comes from writing less. On disk each quad costs ~7 RocksDB index writes and reading one back
costs ~3 key lookups, while a typical update of a workload subgraph changes a handful of its ~50
triples. So a replace writes only the difference, computed against the last body written for that
id, which a bounded cache (:class:`_Recent`, compressed N-Triples) keeps for the most recently
written ids; on a miss the old graph is read from the store. The cache also remembers a digest of
the request body, so re-sending an unchanged subgraph (a relist, a resync) costs no parse and no
write at all (:meth:`SubgraphStore.unchanged`).

Oxigraph keeps typed literals by value, so what a GET returns is the canonical lexical form
(``"0.250"^^xsd:decimal`` comes back as ``"0.25"``): the same RDF value. Differences computed on
lexical forms stay correct because ``DELETE DATA`` matches by that same value.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import zlib
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, cast

import pyoxigraph as ox

from kg_exporter.identity import SUBGRAPH_GRAPH_PREFIX, subgraph_graph_iri
from kg_exporter.ntriples import in_graph
from kg_exporter.service.limits import Limits
from kg_exporter.service.staging import DIRECTORY as STAGING_DIRECTORY
from kg_exporter.service.staging import STAGE_BYTES, Staging, staged_stream

if TYPE_CHECKING:
    from kg_exporter.service.queries import QueryAnswer

log = logging.getLogger(__name__)

#: ``store_path`` value that selects a store in memory (tests, demos).
IN_MEMORY = ":memory:"
#: Default number of ids whose last body the store remembers (~1 KB each for ~50 triples).
DEFAULT_REMEMBERED = 20_000
#: ... and the most memory those bodies may take, compressed (20,000 typical ones take ~20 MB).
DEFAULT_REMEMBERED_BYTES = 32 * 1024 * 1024
#: Statement bytes written after which memory tables are flushed to disk (see :class:`_Flusher`).
DEFAULT_FLUSH_BYTES = 16 * 1024 * 1024
_STRIPES = 256
#: Staged N-Quads up to which a load reads them whole rather than streaming them (a body's worth).
_READ_WHOLE_BYTES = 4 * 1024 * 1024
#: Statements from which the subgraphs a batch creates go through the bulk loader (~100 typical
#: subgraphs; see :meth:`SubgraphStore.put_many`).
BULK_MIN_STATEMENTS = 6_000


class PutResult(Enum):
    CREATED = "created"
    REPLACED = "replaced"
    UNCHANGED = "unchanged"  # the subgraph already held exactly these statements: nothing written
    CONFLICT = "conflict"  # create-only write to an id that exists


@dataclass(frozen=True)
class Statements:
    """One subgraph of a batch write (:meth:`SubgraphStore.put_many`): its id, its statements as
    N-Triples (one per line, as pyoxigraph writes them), and the digest of the request body they
    came from (for :meth:`SubgraphStore.unchanged`)."""

    subgraph_id: str
    data: bytes
    body_digest: bytes | None = None


class SubgraphStore:
    """Thread-safe CRUD of subgraphs on a pyoxigraph :class:`~pyoxigraph.Store`."""

    def __init__(
        self,
        store: ox.Store,
        *,
        remembered: int = DEFAULT_REMEMBERED,
        flush_bytes: int = DEFAULT_FLUSH_BYTES,
    ) -> None:
        """``flush_bytes``: flush memory tables to disk in the background after this many bytes
        of statements were written (0: only when :meth:`flush` is called)."""
        self._store = store
        self._stripes = [threading.Lock() for _ in range(_STRIPES)]
        self._count_lock = threading.Lock()
        self._recent = _Recent(remembered)
        self._flusher = _Flusher(store, flush_bytes)
        self._count = self._counted()
        self._generation = 0
        #: The store's directory; None in memory.
        self.path: str | None = None
        #: New subgraphs of batches not in the store yet (on disk only): see :meth:`put_many`.
        self._staging: Staging | None = None
        self._stage_bytes = STAGE_BYTES
        self._loading = threading.Lock()
        self._loader: threading.Thread | None = None

    @classmethod
    def open(
        cls,
        store_path: str,
        *,
        remembered: int = DEFAULT_REMEMBERED,
        flush_bytes: int = DEFAULT_FLUSH_BYTES,
        stage_bytes: int = STAGE_BYTES,
    ) -> SubgraphStore:
        """The store at ``store_path`` (a directory, created if missing), or in memory.
        ``stage_bytes``: staged N-Quads from which they are loaded (see :meth:`put_many`)."""
        if store_path == IN_MEMORY:
            return cls(ox.Store(), remembered=remembered, flush_bytes=0)
        opened = cls(ox.Store(store_path), remembered=remembered, flush_bytes=flush_bytes)
        opened.path = store_path
        opened._stage_bytes = stage_bytes
        opened._staging = Staging(Path(store_path) / STAGING_DIRECTORY)
        if opened._staging:
            # Staged and acknowledged before the last stop: in the store before anything is read.
            opened.load_staged()
            opened._count = opened._counted()
        return opened

    def _counted(self) -> int:
        return sum(
            1
            for graph in self._store.named_graphs()
            if graph.value.startswith(SUBGRAPH_GRAPH_PREFIX)
        )

    def count(self) -> int:
        """Number of subgraphs held."""
        return self._count

    def generation(self) -> int:
        """How many writes were committed so far: a checkpoint made after this value was read
        holds all of them (see :mod:`kg_exporter.service.snapshots`)."""
        return self._generation

    def backup(self, path: str) -> None:
        """A consistent read-only copy at ``path`` (hard links where possible), staged subgraphs
        included; on-disk only."""
        self.load_staged()
        self._store.backup(path)

    def _wrote(self) -> None:
        with self._count_lock:
            self._generation += 1

    def unchanged(self, subgraph_id: str, body_digest: bytes) -> bool:
        """Whether the last body written to ``subgraph_id`` had this digest (so a PUT of it again
        would change nothing). False when unknown: only a recent write is remembered."""
        return self._recent.digest(subgraph_id) == body_digest

    def put(
        self,
        subgraph_id: str,
        triples: Sequence[ox.Triple],
        *,
        create_only: bool = False,
        body_digest: bytes | None = None,
    ) -> PutResult:
        """Make the subgraph exactly ``triples`` (non-empty), atomically.

        ``body_digest`` identifies the request body the triples came from, for :meth:`unchanged`.
        """
        if not triples:
            raise ValueError("a subgraph holds at least one triple")
        return self.put_statements(
            subgraph_id, n_triples(triples), create_only=create_only, body_digest=body_digest
        )

    def put_statements(
        self,
        subgraph_id: str,
        data: bytes,
        *,
        create_only: bool = False,
        body_digest: bytes | None = None,
    ) -> PutResult:
        """:meth:`put` of the N-Triples ``data`` (as a worker process answers a parsed body)."""
        graph = ox.NamedNode(subgraph_graph_iri(subgraph_id))
        with self._stripes[hash(subgraph_id) % _STRIPES]:
            self._unstage(subgraph_id)
            return self._put_locked(subgraph_id, graph, data, create_only, body_digest)

    def put_many(self, batch: Sequence[Statements]) -> list[PutResult]:
        """Make each subgraph of ``batch`` exactly its statements, as :meth:`put_statements` does
        for one (ids distinct, each with at least one statement); the result of each, in order.

        The subgraphs that exist are replaced one by one, each atomically. Those that do not are
        created together, all or none: at once when they hold :data:`BULK_MIN_STATEMENTS` or the
        store is in memory (there each in its own transaction, see :meth:`_load_each`);
        otherwise (a few PUTs written together, a daemon's small batch) they are staged on disk
        (one synced file, see :mod:`~kg_exporter.service.staging`) and bulk-loaded with the
        batches staged before and after them, in a thread of their own.
        A load is one transaction, or, from :data:`BULK_MIN_STATEMENTS`, Oxigraph's bulk loader,
        which builds the index files itself and ingests them in one atomic, synced RocksDB step.
        Measured creating 22,002 typical subgraphs on disk (process CPU, the loader's threads
        included): 55.6 s one transaction each, 43 s in transactions of 128, 27.2 s bulk-loaded
        200 at a time, 25.5 s staged and loaded 32 MiB at a time, 20.1 s 128 MiB at a time (but
        +500 MiB of memory). A subgraph with blank nodes is
        created on its own: one N-Quads document would merge the blank nodes of two subgraphs
        that happen to share a label.
        """
        ids = [item.subgraph_id for item in batch]
        if len(set(ids)) != len(ids):
            raise ValueError("a batch names each subgraph once")
        if not all(item.data for item in batch):
            raise ValueError("a subgraph holds at least one triple")
        results: list[PutResult] = []
        fresh: list[Statements] = []
        with contextlib.ExitStack() as held:
            # In index order, so two batches (or a batch and a PUT) never wait on each other.
            for stripe in sorted({hash(subgraph_id) % _STRIPES for subgraph_id in ids}):
                held.enter_context(self._stripes[stripe])
            for item in batch:
                self._unstage(item.subgraph_id)
                graph = ox.NamedNode(subgraph_graph_iri(item.subgraph_id))
                if b"_:" in item.data or self._store.contains_named_graph(graph):
                    result = self._put_locked(
                        item.subgraph_id, graph, item.data, False, item.body_digest
                    )
                else:
                    fresh.append(item)
                    result = PutResult.CREATED
                results.append(result)
            if fresh:
                self._create_together(fresh)
        return results

    def _put_locked(
        self,
        subgraph_id: str,
        graph: ox.NamedNode,
        data: bytes,
        create_only: bool,
        body_digest: bytes | None,
    ) -> PutResult:
        exists = self._store.contains_named_graph(graph)
        if exists and create_only:
            return PutResult.CONFLICT
        # Forgotten until the write succeeds: a failed write must not look like the last one.
        previous = self._recent.pop(subgraph_id)
        if not exists:
            # N-Triples into the graph: one transaction, parsed in Rust, no Python objects.
            self._store.load(data, format=ox.RdfFormat.N_TRIPLES, to_graph=graph)
            self._flusher.wrote(len(data))
            with self._count_lock:
                self._count += 1
            result = PutResult.CREATED
        else:
            old = previous.lines() if previous is not None else self._stored_lines(graph)
            wrote = self._replace(graph, old, data)
            self._flusher.wrote(wrote)
            result = PutResult.REPLACED if wrote else PutResult.UNCHANGED
        self._wrote()
        self._recent.put(subgraph_id, body_digest, data)
        return result

    def _create_together(self, batch: Sequence[Statements]) -> None:
        if self._staging is None:
            self._load_each(batch)
        else:
            self._create_on_disk(batch)
        with self._count_lock:
            self._count += len(batch)
        self._wrote()
        for item in batch:
            self._recent.put(item.subgraph_id, item.body_digest, item.data)
        if self._staging is not None and self._staging.size >= self._stage_bytes:
            self._load_in_background()

    def _load_each(self, batch: Sequence[Statements]) -> None:
        """In memory: each subgraph its own transaction, all or none still (a failure removes
        those already loaded). Nothing is durable in memory, so one transaction for the batch
        bought nothing but the N-Quads document it needs: building it (the graph name on every
        line) cost ~25 % on top of the loads, measured on daemon-sized batches."""
        loaded: list[ox.NamedNode] = []
        try:
            for item in batch:
                graph = ox.NamedNode(subgraph_graph_iri(item.subgraph_id))
                # Lenient: written by pyoxigraph from parsed terms (see _load_quads).
                self._store.load(
                    item.data, format=ox.RdfFormat.N_TRIPLES, to_graph=graph, lenient=True
                )
                loaded.append(graph)
        except BaseException:
            for graph in loaded:
                self._store.remove_graph(graph)
            raise

    def _create_on_disk(self, batch: Sequence[Statements]) -> None:
        quads = b"".join(
            in_graph(item.data, subgraph_graph_iri(item.subgraph_id)) for item in batch
        )
        if quads.count(b"\n") >= BULK_MIN_STATEMENTS:
            # Enough for a bulk load of their own (a backfill's batches): loaded now. Staging
            # them too saved 6 % of the store's CPU (25.5 s against 27.2 s for 22,002 subgraphs)
            # for +146 MiB of peak memory, and left the last load on the run's end.
            self._load_quads(quads)
        else:
            assert self._staging is not None
            self._staging.stage(quads, (item.subgraph_id for item in batch))

    def _load_quads(self, quads: bytes) -> None:
        # Lenient: the statements were written by pyoxigraph from parsed terms, so checking their
        # IRIs again would only cost time. In memory, the bulk loader only costs more: measured
        # on daemon-sized batches of typical subgraphs (30-128 each), 230-250 us of CPU per
        # subgraph against 140 us for one transaction.
        if self.path is not None and quads.count(b"\n") >= BULK_MIN_STATEMENTS:
            # Bypasses the memory tables (and so the flusher): the files go straight to disk.
            self._store.bulk_load(quads, format=ox.RdfFormat.N_QUADS, lenient=True)
        else:
            self._store.load(quads, format=ox.RdfFormat.N_QUADS, lenient=True)
            self._flusher.wrote(len(quads))

    def load_staged(self, *, down_to: int = 0) -> None:
        """Put the staged subgraphs into the store now (see :meth:`put_many`), until less than
        ``down_to`` bytes are left staged: all of them by default."""
        staging = self._staging
        if staging is None:
            return
        with self._loading:
            while staging and staging.size >= down_to:
                staged = staging.taken(self._stage_bytes)
                if staged.size <= _READ_WHOLE_BYTES:
                    # Few: read whole, so that their lines can be counted (_load_quads).
                    self._load_quads(b"".join(path.read_bytes() for path, _ in staged.files))
                else:
                    with staged_stream(staged) as stream:
                        self._store.bulk_load(stream, format=ox.RdfFormat.N_QUADS, lenient=True)
                staging.loaded(staged)

    def has_staged(self, subgraph_id: str | None = None) -> bool:
        """Whether something (``subgraph_id``) is staged: reading it, or writing it otherwise,
        loads what is staged first, which can take a second."""
        if self._staging is None:
            return False
        return bool(self._staging) if subgraph_id is None else subgraph_id in self._staging

    def _unstage(self, subgraph_id: str) -> None:
        """Before ``subgraph_id`` is read or written otherwise than by staging it: in the store."""
        if self._staging is not None and subgraph_id in self._staging:
            self.load_staged()

    def _load_in_background(self) -> None:
        with self._count_lock:
            if self._loader is not None and self._loader.is_alive():
                return
            self._loader = threading.Thread(
                target=self._load_logged, name="store-load", daemon=True
            )
            self._loader.start()

    def _load_logged(self) -> None:
        try:
            self.load_staged(down_to=self._stage_bytes)
        except (OSError, RuntimeError, ValueError, SyntaxError):
            # Still staged: the next read, write or start loads them again.
            log.exception("loading the staged subgraphs failed")

    def get(self, subgraph_id: str) -> list[ox.Triple] | None:
        self._unstage(subgraph_id)
        graph = ox.NamedNode(subgraph_graph_iri(subgraph_id))
        if not self._store.contains_named_graph(graph):
            return None
        return [quad.triple for quad in self._store.quads_for_pattern(None, None, None, graph)]

    def delete(self, subgraph_id: str) -> bool:
        graph = ox.NamedNode(subgraph_graph_iri(subgraph_id))
        with self._stripes[hash(subgraph_id) % _STRIPES]:
            self._unstage(subgraph_id)
            if not self._store.contains_named_graph(graph):
                return False
            self._recent.pop(subgraph_id)
            self._store.remove_graph(graph)
            with self._count_lock:
                self._count -= 1
            self._wrote()
            return True

    def ids(self, prefix: str = "") -> list[str]:
        """Ids of the subgraphs whose id starts with ``prefix``, sorted."""
        self.load_staged()
        start = SUBGRAPH_GRAPH_PREFIX + prefix
        cut = len(SUBGRAPH_GRAPH_PREFIX)
        return sorted(
            graph.value[cut:]
            for graph in self._store.named_graphs()
            if isinstance(graph, ox.NamedNode) and graph.value.startswith(start)
        )

    def query(self, sparql: str, limits: Limits | None = None) -> QueryAnswer:
        """A SPARQL 1.1 query over the union of all graphs, in this thread (see
        :func:`~kg_exporter.service.queries.run_query`: BadRequest when refused or failed)."""
        from kg_exporter.service.queries import run_query

        self.load_staged()
        return run_query(self._store, sparql, limits or Limits())

    def dump(self) -> bytes:
        """Every quad as N-Quads lines, sorted: equal dumps mean equal stores (sans blank nodes)."""
        self.load_staged()
        lines = (self._store.dump(format=ox.RdfFormat.N_QUADS) or b"").splitlines()
        return b"\n".join(sorted(lines))

    def flush(self) -> None:
        """Write memory tables to disk now (done on shutdown so the next start replays less
        log), after any flush under way in the background; staged subgraphs are loaded first."""
        self.load_staged()
        self._flusher.join()
        self._store.flush()

    def close(self) -> None:
        """Flush, then let go of the store now: its files and its directory lock are released at
        once rather than whenever the garbage collector gets to it (an aiohttp app holding this
        object sits in reference cycles). Any later call raises RuntimeError."""
        self.flush()
        self._store = cast(ox.Store, _Closed())
        self._flusher = _Flusher(self._store, 0)

    # -- internals ---------------------------------------------------------------------------

    def _stored_lines(self, graph: ox.NamedNode) -> frozenset[bytes] | None:
        quads = self._store.quads_for_pattern(None, None, None, graph)
        return _lines(n_triples([quad.triple for quad in quads]))

    def _replace(self, graph: ox.NamedNode, old: frozenset[bytes] | None, data: bytes) -> int:
        """Make ``graph`` hold ``data``, writing only the difference from ``old``; the size of the
        statements written (0 when the two are the same statements)."""
        new = _lines(data)
        if old is None or new is None:
            # Blank node labels differ on every parse, so a difference would be everything, and
            # DELETE DATA cannot name blank nodes anyway: drop and insert, in one update.
            self._store.update(
                f"DROP SILENT GRAPH {graph} ; "
                f"INSERT DATA {{ GRAPH {graph} {{ {data.decode('utf-8')} }} }}"
            )
            return len(data)
        removed = old - new
        added = new - old
        if _same_values(removed, added):
            # Nothing, or other spellings of the same values ("2.5E-1" sent, "0.25" stored).
            return 0
        if removed:
            # DELETE DATA matches by value, so deleting "1.50" also deletes a stored "1.5" that the
            # new body still says: re-insert every new statement about a (subject, predicate)
            # pair that loses one; inserting what is already there is a no-op.
            touched = {_subject_predicate(line) for line in removed}
            added |= {line for line in new if _subject_predicate(line) in touched}
        operations = []
        # N-Triples statements are valid SPARQL data blocks as they are.
        if removed:
            operations.append(f"DELETE DATA {{ GRAPH {graph} {{ {_text(removed)} }} }}")
        if added:
            operations.append(f"INSERT DATA {{ GRAPH {graph} {{ {_text(added)} }} }}")
        if not operations:
            return 0
        update = " ; ".join(operations)
        self._store.update(update)
        return len(update)


def n_triples(triples: Iterable[ox.Triple]) -> bytes:
    """Triples as N-Triples, one per line: what :meth:`SubgraphStore.put_many` takes."""
    return ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b""


def _lines(data: bytes) -> frozenset[bytes] | None:
    """The N-Triples statements of ``data``; None when it may hold blank nodes, whose labels make
    two parses of one graph look different (a literal holding "_:" errs on the safe side)."""
    if b"_:" in data:
        return None
    return frozenset(data.splitlines())


def _same_values(removed: frozenset[bytes], added: frozenset[bytes]) -> bool:
    """Whether two sets of N-Triples statements say the same, by value.

    Cheap answers first: a difference of unequal size is a change (a by-value match would need
    two spellings of one value in one body: rare, and then writing is merely unneeded), and
    statements without typed or language-tagged literals differ by value when they differ by
    text. Only the rest go through the store's own canonical form.
    """
    if len(removed) != len(added):
        return False
    if not removed:
        return True
    if not any(b'"^^<' in line or b'"@' in line for line in removed | added):
        return False
    return _canonical(removed) == _canonical(added)


def _canonical(lines: frozenset[bytes]) -> frozenset[bytes]:
    """N-Triples statements as the store gives them back (numbers, dates and booleans in canonical
    lexical form), via a throwaway store in memory; only the few lines of a difference get here."""
    if not lines:
        return lines
    scratch = ox.Store()
    scratch.load(b"\n".join(lines), format=ox.RdfFormat.N_TRIPLES)
    return frozenset(n_triples(quad.triple for quad in scratch).splitlines())


def _subject_predicate(line: bytes) -> bytes:
    # "<s> <p> o ." — IRIs hold no spaces, and blank nodes never get here.
    subject, _, rest = line.partition(b" ")
    return subject + b" " + rest.partition(b" ")[0]


def _text(lines: Iterable[bytes]) -> str:
    return b"\n".join(lines).decode("utf-8")


@dataclass(frozen=True)
class _Written:
    body_digest: bytes | None
    compressed: bytes

    def lines(self) -> frozenset[bytes] | None:
        return _lines(zlib.decompress(self.compressed))


class _Closed:
    """Stands where the store was after :meth:`SubgraphStore.close`: every use is an error."""

    def __getattr__(self, name: str) -> object:
        raise RuntimeError("the subgraph store is closed")


class _Flusher:
    """Flushes the store's memory tables to disk in a background thread every ``every`` bytes of
    statements written.

    Why: RocksDB (as Oxigraph configures it) lets its memory tables grow to several hundred MB
    before flushing on its own — measured, 22,000 typical subgraphs written one per transaction
    took the process from 250 to 1,050 MB — which would get the service OOM-killed under the
    limits of deploy/. Measured on the same writes (2 cores), flushing every 8 / 16 / 32 MB of
    statements kept the growth at 69 / 105 / 184 MB, for 15 / 8 / 15 % more CPU in all
    (RocksDB compacts more, smaller files) and 33 / 27 / 6 % less wall time (flushes and
    compactions run beside the writes: a flush releases the GIL). 16 MB (~3,000 subgraphs) is
    the middle. Durability does not depend on it: the write-ahead log holds every acknowledged
    write.
    """

    def __init__(self, store: ox.Store, every: int) -> None:
        self._store = store
        self._every = every
        self._pending = 0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def wrote(self, size: int) -> None:
        if self._every <= 0:
            return
        with self._lock:
            self._pending += size
            if self._pending < self._every or (
                self._thread is not None and self._thread.is_alive()
            ):
                return
            self._pending = 0
            self._thread = threading.Thread(target=self._flush, name="store-flush", daemon=True)
            self._thread.start()

    def join(self) -> None:
        thread = self._thread
        if thread is not None:
            thread.join()

    def _flush(self) -> None:
        try:
            self._store.flush()
        except OSError:
            # Not fatal: RocksDB flushes by itself later, and the log keeps every write.
            log.warning("background flush of the store failed", exc_info=True)


class _Recent:
    """The last body written to each of the ``capacity`` most recently written ids, in at most
    ``max_bytes`` (compressed). A count alone let 30 bodies of 3 MB hold 128 MB; an entry larger
    than a sixteenth of the budget is not kept at all (it would push out hundreds of others, and
    a replace of it reads the old graph from the store instead, which is correct, only slower)."""

    def __init__(self, capacity: int, max_bytes: int = DEFAULT_REMEMBERED_BYTES) -> None:
        self._capacity = capacity
        self._max_bytes = max_bytes
        self._bytes = 0
        self._entries: OrderedDict[str, _Written] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        """Bytes held."""
        return self._bytes

    def digest(self, subgraph_id: str) -> bytes | None:
        entry = self._entries.get(subgraph_id)
        return entry.body_digest if entry is not None else None

    def pop(self, subgraph_id: str) -> _Written | None:
        with self._lock:
            entry = self._entries.pop(subgraph_id, None)
            if entry is not None:
                self._bytes -= len(entry.compressed)
            return entry

    def put(self, subgraph_id: str, digest: bytes | None, data: bytes) -> None:
        if self._capacity <= 0 or len(data) > self._max_bytes:
            return
        # Level 1: N-Triples are repetitive IRIs; even the fastest level shrinks them ~8x.
        entry = _Written(digest, zlib.compress(data, 1))
        if len(entry.compressed) * 16 > self._max_bytes:
            return
        with self._lock:
            old = self._entries.pop(subgraph_id, None)
            if old is not None:
                self._bytes -= len(old.compressed)
            self._entries[subgraph_id] = entry
            self._bytes += len(entry.compressed)
            while len(self._entries) > self._capacity or self._bytes > self._max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= len(evicted.compressed)
