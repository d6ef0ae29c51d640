"""Progress while a backfill runs: a ``rich`` bar on a terminal, a plain line every few seconds
otherwise (logs, CI, pipes), both on stderr so stdout holds only the summary."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Protocol, TextIO

from kg_exporter.backfill.report import Report


class Progress(Protocol):
    def start(self, total: int | None) -> None:
        """``total`` subgraphs are about to be written (None: not known yet)."""
        ...

    def set_total(self, total: int) -> None:
        """The total is now known (all input has been read)."""
        ...

    def advance(self, done: int, report: Report) -> None:
        """``done`` subgraphs have been handled (written, unchanged or failed)."""
        ...

    def stop(self) -> None: ...


def make_progress(stream: TextIO = sys.stderr) -> Progress:
    """A bar when ``stream`` is a terminal, plain lines otherwise."""
    return RichProgress(stream) if stream.isatty() else PlainProgress(stream)


def _status(report: Report) -> str:
    return (
        f"written {report.written()}, unchanged {report.total_unchanged}, "
        f"failed {report.total_failed}"
    )


class PlainProgress:
    """One line every ``interval`` seconds, and one at the end."""

    def __init__(
        self,
        stream: TextIO,
        *,
        interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._interval = interval
        self._clock = clock
        self._total: int | None = None
        self._started = 0.0
        self._next = 0.0
        self._last: tuple[int, Report] | None = None

    def start(self, total: int | None) -> None:
        self._total = total
        self._started = self._clock()
        self._next = self._started + self._interval

    def set_total(self, total: int) -> None:
        self._total = total

    def advance(self, done: int, report: Report) -> None:
        self._last = (done, report)
        now = self._clock()
        if now >= self._next:
            self._next = now + self._interval
            self._line(done, report, now)

    def stop(self) -> None:
        if self._last is not None:
            self._line(*self._last, self._clock())

    def _line(self, done: int, report: Report, now: float) -> None:
        if self._total:
            of = f"{done}/{self._total} subgraphs ({100 * done // self._total}%)"
        else:
            of = f"{done} subgraphs (reading input)"
        self._stream.write(f"backfill: {of}: {_status(report)} [{now - self._started:.1f} s]\n")
        self._stream.flush()


class RichProgress:
    """A ``rich`` progress bar, updated at most ten times a second (cheap at 20,000 writes)."""

    def __init__(self, stream: TextIO, *, clock: Callable[[], float] = time.monotonic) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.progress import Progress as Bar

        self._bar = Bar(
            TextColumn("backfill"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            console=Console(file=stream),
        )
        self._task = self._bar.add_task("backfill", total=None, status="")
        self._clock = clock
        self._next = 0.0
        self._last: tuple[int, Report] | None = None

    def start(self, total: int | None) -> None:
        self._bar.update(self._task, total=total)
        self._bar.start()

    def set_total(self, total: int) -> None:
        self._bar.update(self._task, total=total)

    def advance(self, done: int, report: Report) -> None:
        now = self._clock()
        if now >= self._next:
            self._next = now + 0.1
            self._bar.update(self._task, completed=done, status=_status(report))
        self._last = (done, report)

    def stop(self) -> None:
        if self._last is not None:
            done, report = self._last
            self._bar.update(self._task, completed=done, status=_status(report))
        self._bar.stop()
