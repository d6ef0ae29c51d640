"""What one request may cost the reference Metadata Service, and what is refused beyond it.

Every limit exists because a single request without it crashed the service or took it down for
everyone (issue 17, reproduced in ``tests/reliability/test_hostile_service.py``). Each default
leaves at least 10x headroom over what kg-exporter itself sends (a workload subgraph is ~3 KB,
~50 triples, nested 4 deep, with a 10-term context) and was measured to keep the service answering
``/healthz`` within a second while the request is processed.
"""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    #: Largest request body, bytes (413). Also bounds what one request holds in memory.
    max_body_bytes: int = 4 * MIB
    #: Deepest nesting of JSON arrays and objects in a body (400). Checked by an iterative scan
    #: before any parser sees the body: the JSON-LD parser recurses once per level and crashed the
    #: process (stack overflow) near 4,000 levels.
    max_json_depth: int = 64
    #: Most term definitions in all the contexts of one body, scoped contexts included (400). A
    #: chain of terms each defined by the previous one recursed once per term in the parser.
    max_context_terms: int = 1_000
    #: Most triples in one subgraph (413). A 2 MB ``@list`` of a million items is two million
    #: triples: one RocksDB transaction of that size took the process past 3 GB.
    max_triples: int = 100_000
    #: Most bytes of N-Triples one subgraph's statements may take (413). A short JSON-LD body
    #: expands without bound (a 30 KB prefix used 3,000 times: a 53 KB PUT stored 90 MB and took
    #: the service from 72 to 251 MB); kg-exporter's 4 MiB batches expand to ~12 MB.
    max_statement_bytes: int = 32 * MIB
    #: Longest a body's JSON-LD processing may take, seconds (422). Scoped contexts applied at
    #: every use cost (terms x uses): 360 KB took 108 s. The worker doing it is killed after this.
    parse_seconds: float = 10.0
    #: Memory a body-processing worker process may allocate, bytes (its RLIMIT_DATA; over it the
    #: worker dies, the request gets 422 and a new worker starts).
    parse_memory_bytes: int = 256 * MIB
    #: Largest SPARQL query text, bytes (413).
    max_query_bytes: int = 64 * 1024
    #: Deepest nesting of ``{``, ``(`` and ``[`` in a SPARQL query (400), checked before any parser
    #: sees it: Oxigraph's parser crashed the process near 3,000 levels of ``{``.
    max_query_depth: int = 64
    #: Longest a query may run, seconds (422); the worker running it is killed after this.
    query_seconds: float = 30.0
    #: Largest serialised query result, bytes (422).
    max_result_bytes: int = 32 * MIB
    #: Memory a query worker process may allocate, bytes (its RLIMIT_DATA).
    query_memory_bytes: int = 512 * MIB
    #: Worker processes for body processing, and for queries. Two of each, so one slow or hostile
    #: request holds one while the other goes on serving.
    parse_workers: int = 2
    query_workers: int = 2
    #: Longest a request may wait for a free worker before 503, seconds.
    queue_seconds: float = 10.0
    #: Longest a connection may take to send a request's headers (and longest it may stay idle
    #: between requests), seconds; then it is closed. A client trickling headers byte by byte
    #: otherwise holds its connection forever.
    header_seconds: float = 15.0
    #: Longest a request's body may take to arrive, seconds (408).
    body_seconds: float = 30.0

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if value <= 0:
                raise ValueError(f"limit {name} must be > 0, not {value}")
