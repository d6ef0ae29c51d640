"""The runner with sinks that misbehave on cue: a refused subgraph is listed and the rest go on
(exit 1); a sink that goes away mid-run stops the run (exit 2) instead of waiting out retries for
every remaining subgraph. And the progress it reports."""

from __future__ import annotations

import asyncio
import builtins
import io
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from kg_exporter.backfill import Inventory, Report, WriteOutcome, backfill
from kg_exporter.backfill.progress import PlainProgress, RichProgress, make_progress
from kg_exporter.backfill.report import EXIT_FAILED, EXIT_OK, EXIT_UNAVAILABLE
from kg_exporter.errors import SinkRejected, SinkUnavailable
from kg_exporter.identity import SubgraphKind
from kg_exporter.render.renderer import Renderer
from kg_exporter.sink import PutOutcome
from tests.conftest import example_objects


class ScriptedSink:
    """Keeps documents in a dict; refuses ids in ``refuse``; goes down after ``up_for`` puts."""

    def __init__(self, *, refuse: frozenset[str] = frozenset(), up_for: int | None = None) -> None:
        self.documents: dict[str, Mapping[str, Any]] = {}
        self.refuse = refuse
        self.up_for = up_for
        self.puts = 0

    async def put(self, subgraph_id: str, document: Mapping[str, Any]) -> PutOutcome:
        self.puts += 1
        if self.up_for is not None and self.puts > self.up_for:
            raise SinkUnavailable(f"PUT {subgraph_id} failed after 6 attempts: ConnectError")
        if subgraph_id in self.refuse:
            raise SinkRejected(413, "body too large")
        existed = subgraph_id in self.documents
        self.documents[subgraph_id] = document
        return PutOutcome.REPLACED if existed else PutOutcome.CREATED

    async def get(self, subgraph_id: str) -> dict[str, Any] | None:
        document = self.documents.get(subgraph_id)
        return dict(document) if document is not None else None

    async def delete(self, subgraph_id: str) -> bool:
        return self.documents.pop(subgraph_id, None) is not None

    async def list(self, prefix: str = "") -> builtins.list[str]:
        return sorted(i for i in self.documents if i.startswith(prefix))

    async def aclose(self) -> None:
        return None


def inventory() -> Inventory:
    return Inventory([(o, f"example:{i}") for i, o in enumerate(example_objects())])


async def test_a_refused_subgraph_is_listed_and_the_rest_are_written(renderer: Renderer) -> None:
    refused = "cluster1:workload-telemetry:deployment:shop:api"
    sink = ScriptedSink(refuse=frozenset({refused}))
    report = await backfill(inventory(), renderer, sink, concurrency=3)
    assert report.exit_code == EXIT_FAILED
    assert [(f.what, f.reason) for f in report.failures] == [(refused, "HTTP 413: body too large")]
    assert report.failed == {SubgraphKind.WORKLOAD_TELEMETRY: 1}
    assert report.written() == 41 and len(sink.documents) == 41


async def test_a_sink_that_goes_away_stops_the_run(renderer: Renderer) -> None:
    sink = ScriptedSink(up_for=5)
    report = await backfill(inventory(), renderer, sink, concurrency=2)
    assert report.exit_code == EXIT_UNAVAILABLE
    assert report.aborted is not None and "became unreachable" in report.aborted
    assert report.written() == 5
    # Every write in flight when it went down failed once; nothing more was sent after that.
    assert sink.puts <= 5 + 2
    assert report.total_failed + report.written() + report.not_sent <= 42


async def test_a_second_run_counts_replacements_as_written(renderer: Renderer) -> None:
    sink = ScriptedSink()
    first = await backfill(inventory(), renderer, sink)
    second = await backfill(inventory(), renderer, sink)
    assert (first.exit_code, second.exit_code) == (EXIT_OK, EXIT_OK)
    assert sum(first.created.values()) == 42 and sum(second.replaced.values()) == 42


async def test_concurrency_must_be_positive(renderer: Renderer) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        await backfill(inventory(), renderer, ScriptedSink(), concurrency=0)


def test_plain_progress_prints_a_line_every_interval_and_at_the_end() -> None:
    now = [0.0]
    stream = io.StringIO()
    progress = PlainProgress(stream, interval=5, clock=lambda: now[0])
    report = Report()
    progress.start(10)
    for done in range(1, 11):
        now[0] = done * 1.0
        report.count(SubgraphKind.WORKLOAD, WriteOutcome.CREATED)
        progress.advance(done, report)
    progress.stop()
    assert stream.getvalue().splitlines() == [
        "backfill: 5/10 subgraphs (50%): written 5, unchanged 0, failed 0 [5.0 s]",
        "backfill: 10/10 subgraphs (100%): written 10, unchanged 0, failed 0 [10.0 s]",
        "backfill: 10/10 subgraphs (100%): written 10, unchanged 0, failed 0 [10.0 s]",
    ]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_bar() -> None:
    assert isinstance(make_progress(io.StringIO()), PlainProgress)
    stream = Terminal()
    progress = make_progress(stream)
    assert isinstance(progress, RichProgress)
    report = Report()
    progress.start(2)
    report.count(SubgraphKind.NODE, WriteOutcome.UNCHANGED)
    progress.advance(1, report)
    progress.advance(2, report)
    progress.stop()
    assert "2/2" in stream.getvalue() and "unchanged 1" in stream.getvalue()


async def test_a_broken_glaciation_template_stops_the_run_and_its_writers(
    renderer: Renderer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kg_exporter.errors import RenderError

    def broken(nodes: object) -> None:
        raise RenderError("template glaciation-node.json.j2: boom")

    monkeypatch.setattr(renderer, "glaciation_node", broken)
    sink = ScriptedSink()
    with pytest.raises(RenderError, match="boom"):
        await backfill(inventory(), renderer, sink, concurrency=2)
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert not tasks  # no writer left behind


async def test_input_is_read_while_writing_not_before(renderer: Renderer) -> None:
    sink = ScriptedSink()
    puts_seen_by_reader: list[int] = []

    def items() -> Iterator[tuple[dict[str, Any], str]]:
        for i, obj in enumerate(example_objects()):
            puts_seen_by_reader.append(sink.puts)
            yield obj, f"example:{i}"

    source = Inventory(items())
    stream = io.StringIO()
    report = await backfill(source, renderer, sink, concurrency=1, progress=PlainProgress(stream))
    assert report.exit_code == EXIT_OK and source.complete and source.count == 20
    assert puts_seen_by_reader[0] == 0 and puts_seen_by_reader[-1] > 0
    # The total was not known until the input was read; the last line has it.
    assert stream.getvalue().splitlines()[-1].startswith("backfill: 42/42 subgraphs (100%)")


def test_plain_progress_without_a_total_says_it_is_still_reading() -> None:
    stream = io.StringIO()
    progress = PlainProgress(stream, interval=0, clock=lambda: 1.0)
    progress.start(None)
    progress.advance(3, Report())
    assert stream.getvalue().startswith("backfill: 3 subgraphs (reading input): written 0")
