"""`kg-exporter backfill`: export every workload and node that exists now, then exit.

Objects come from manifests (``--manifests``) or the cluster (``--kubeconfig``, or the default
credentials); subgraphs go to the Metadata Service (``--sink URL``), to an embedded store
(``--store DIR``, the default ``./kg-store``), or to files (``--dry-run --out DIR``). Progress and
failures go to stderr; the summary and what the graph now holds go to stdout.

Exit codes: 0 everything written; 1 some input or subgraph failed (each listed with its reason);
2 usage, settings or connection error (the sink or the cluster could not be reached).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import aiohttp
from pydantic import ValidationError

from kg_exporter.backfill.directory import DirectorySink
from kg_exporter.backfill.embedded import DEFAULT_STORE, open_store
from kg_exporter.backfill.progress import Progress, make_progress
from kg_exporter.backfill.report import EXIT_UNAVAILABLE, Report
from kg_exporter.backfill.runner import backfill
from kg_exporter.backfill.showcase import describe_graph
from kg_exporter.backfill.sources import Inventory, from_cluster, from_manifests
from kg_exporter.errors import SettingsError, SinkError, WatchError
from kg_exporter.kinds import KindRegistry
from kg_exporter.render.renderer import Renderer
from kg_exporter.settings import Settings, SinkSettings
from kg_exporter.sink import BatchingSink, Sink, open_sink
from kg_exporter.sink.batching import MAX_BATCH

EXIT_USAGE = 2


@dataclass(frozen=True)
class BackfillArgs:
    """The command line, as parsed by :mod:`kg_exporter.cli`."""

    manifests: Sequence[Path] | None = None
    kubeconfig: Path | None = None
    sink: str | None = None
    store: Path | None = None
    concurrency: int = 16
    #: Subgraphs per batch request (--sink of kind subgraph only); 1: a PUT each.
    batch: int = 256
    dry_run: bool = False
    out: Path | None = None
    prune: bool = False

    def problem(self) -> str | None:
        """Why this combination of options makes no sense; None when it does."""
        if self.manifests is not None and self.kubeconfig is not None:
            return "--manifests and --kubeconfig exclude each other: export one or the other"
        if self.sink is not None and self.store is not None:
            return "--sink and --store exclude each other"
        if self.dry_run and self.out is None:
            return "--dry-run needs --out DIR (where the documents are written)"
        if self.out is not None and not self.dry_run:
            return "--out is only for --dry-run"
        if self.dry_run and (self.sink is not None or self.store is not None):
            return "--dry-run writes files: it takes no --sink or --store"
        if self.concurrency < 1:
            return "--concurrency must be at least 1"
        if not 1 <= self.batch <= MAX_BATCH:
            return f"--batch must be from 1 to {MAX_BATCH}"
        return None


def backfill_command(
    args: BackfillArgs,
    settings: Settings,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    progress: Progress | None = None,
) -> int:
    """Run the backfill ``args`` describe; the exit code. ``out``/``err`` default to the
    process's stdout/stderr at call time; ``progress`` to a bar or lines on ``err``."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    problem = args.problem()
    if problem is not None:
        print(f"kg-exporter backfill: {problem}", file=err)
        return EXIT_USAGE
    return asyncio.run(_backfill(args, settings, out, err, progress or make_progress(err)))


async def _backfill(
    args: BackfillArgs, settings: Settings, out: TextIO, err: TextIO, progress: Progress
) -> int:
    renderer = Renderer(settings)
    inventory = await _inventory(args, settings, renderer.kinds, err)
    if inventory is None:
        return EXIT_USAGE
    try:
        sink, destination = _open(args, settings)
    except (SinkError, SettingsError) as exc:
        print(f"kg-exporter backfill: {exc}", file=err)
        return EXIT_USAGE
    try:
        report = await backfill(
            inventory,
            renderer,
            sink,
            concurrency=_concurrency(args, sink),
            prune_stale=args.prune,
            progress=progress,
        )
        _print_report(report, inventory, destination, out, err)
        if report.aborted is None:
            failed = {f.what for f in report.failures}
            lines = await describe_graph(sink, settings.cluster_id, inventory.keys, failed=failed)
            print("", *lines, sep="\n", file=out)
    except SinkError as exc:
        # Reading back after a successful write failed: the sink went away meanwhile.
        print(f"kg-exporter backfill: {exc}", file=err)
        return EXIT_UNAVAILABLE
    finally:
        await sink.aclose()
    return report.exit_code


async def _inventory(
    args: BackfillArgs, settings: Settings, kinds: KindRegistry, err: TextIO
) -> Inventory | None:
    if args.manifests is not None:
        return from_manifests(args.manifests, kinds=kinds)
    try:
        inventory = await from_cluster(settings, kubeconfig=args.kubeconfig, kinds=kinds)
    except WatchError as exc:
        print(f"kg-exporter backfill: cannot list the cluster: {exc}", file=err)
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        # The watch package lets the transport's errors through (the daemon retries them); here
        # they mean the API server cannot be reached.
        reason = str(exc) or type(exc).__name__
        print(f"kg-exporter backfill: cannot reach the Kubernetes API: {reason}", file=err)
    else:
        for note in inventory.notes:
            print(f"note: {note}", file=err)
        return inventory
    return None


def _concurrency(args: BackfillArgs, sink: Sink) -> int:
    """Writes in flight: with batches, enough for two full requests at a time."""
    if isinstance(sink, BatchingSink):
        return max(args.concurrency, 2 * args.batch)
    return args.concurrency


def _open(args: BackfillArgs, settings: Settings) -> tuple[Sink, str]:
    """The sink to write to and how to name it in messages."""
    if args.dry_run:
        assert args.out is not None
        return DirectorySink.open(args.out), f"files in {args.out}"
    if args.sink is not None:
        try:
            sink_settings = SinkSettings.model_validate(
                {**settings.sink.model_dump(), "url": args.sink, "batch_max": args.batch}
            )
        except ValidationError as exc:
            raise SettingsError(f"--sink {args.sink!r}: {exc.errors()[0]['msg']}") from exc
        # N-Triples in batches: this process converts while the service works, and the service
        # is spared parsing JSON-LD (see docs/backfill.md, Speed).
        sink = open_sink(sink_settings, ntriples_batches=True)
        return sink, f"the Metadata Service at {args.sink}"
    store = args.store if args.store is not None else DEFAULT_STORE
    return open_store(store), f"the store {store}"


def _print_report(
    report: Report, inventory: Inventory, destination: str, out: TextIO, err: TextIO
) -> None:
    if report.ignored:
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(report.ignored.items()))
        print(f"note: skipped objects of kinds that are not exported: {kinds}", file=err)
    for failure in report.failures:
        print(f"failed: {failure.what}: {failure.reason}", file=err)
    if report.aborted is not None:
        not_sent = f"; {report.not_sent} subgraphs were not sent" if report.not_sent else ""
        print(f"kg-exporter backfill: {report.aborted}{not_sent}", file=err)
    source = inventory.origin or "no input"
    unreadable = f"; {report.unreadable} input(s) unreadable" if report.unreadable else ""
    print(
        f"backfill of {inventory.count} objects from {source} into {destination}: "
        f"{report.written()} written, {report.total_unchanged} unchanged, "
        f"{report.total_failed} failed{unreadable} in {report.seconds:.1f} s",
        file=out,
    )
    print(*report.table(), sep="\n", file=out)
    if report.pruned:
        print(f"pruned: {len(report.pruned)} no longer existing, now marked stopped:", file=out)
        print(*(f"  {i}" for i in report.pruned), sep="\n", file=out)
    if report.prune_skipped is not None:
        print(f"not pruned: {report.prune_skipped}", file=err)
