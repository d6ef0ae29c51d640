"""What a backfill did: per subgraph kind, how many were written, unchanged or failed, and why
each failure happened. Decides the exit code."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from kg_exporter.backfill.outcome import WriteOutcome
from kg_exporter.identity import SubgraphKind

EXIT_OK, EXIT_FAILED, EXIT_UNAVAILABLE = 0, 1, 2
#: ``Failure.what`` of input that could not be read (its message names the file and line).
INPUT = "input"


@dataclass(frozen=True, slots=True)
class Failure:
    """Something that was not written: a subgraph id, or an input (file:line) that yielded none."""

    what: str
    reason: str


@dataclass
class Report:
    created: Counter[SubgraphKind] = field(default_factory=Counter)
    replaced: Counter[SubgraphKind] = field(default_factory=Counter)
    unchanged: Counter[SubgraphKind] = field(default_factory=Counter)
    failed: Counter[SubgraphKind] = field(default_factory=Counter)
    failures: list[Failure] = field(default_factory=list)
    #: Ids written as stopped by ``--prune``.
    pruned: list[str] = field(default_factory=list)
    #: Why pruning was skipped, when it was asked for and not done.
    prune_skipped: str | None = None
    #: Objects of kinds that are not exported, by kind.
    ignored: Counter[str] = field(default_factory=Counter)
    #: Set when the run stopped early because the sink could not be reached.
    aborted: str | None = None
    #: Subgraphs rendered but never sent because the run was aborted.
    not_sent: int = 0
    seconds: float = 0.0

    def count(self, kind: SubgraphKind, outcome: WriteOutcome) -> None:
        {
            WriteOutcome.CREATED: self.created,
            WriteOutcome.REPLACED: self.replaced,
            WriteOutcome.UNCHANGED: self.unchanged,
        }[outcome][kind] += 1

    def fail(self, what: str, reason: str, kind: SubgraphKind | None = None) -> None:
        self.failures.append(Failure(what, reason))
        if kind is not None:
            self.failed[kind] += 1

    def written(self, kind: SubgraphKind | None = None) -> int:
        """Subgraphs created or replaced (of ``kind``, or all)."""
        if kind is None:
            return sum(self.created.values()) + sum(self.replaced.values())
        return self.created[kind] + self.replaced[kind]

    @property
    def total_failed(self) -> int:
        """Subgraphs not written (an object that failed to render counts its two)."""
        return sum(self.failed.values())

    @property
    def unreadable(self) -> int:
        """Inputs that could not be read at all (so yielded no object to count)."""
        return sum(1 for f in self.failures if f.what == INPUT)

    @property
    def total_unchanged(self) -> int:
        return sum(self.unchanged.values())

    @property
    def exit_code(self) -> int:
        """2 when the sink became unreachable, 1 when anything failed, else 0."""
        if self.aborted is not None:
            return EXIT_UNAVAILABLE
        return EXIT_FAILED if self.failures else EXIT_OK

    def table(self) -> list[str]:
        """The per-kind summary as aligned text lines."""
        rows = [("kind", "written", "(new)", "unchanged", "failed")]
        kinds = [k for k in SubgraphKind if self._seen(k)]
        for kind in kinds:
            rows.append(
                (
                    kind.value,
                    str(self.written(kind)),
                    str(self.created[kind]),
                    str(self.unchanged[kind]),
                    str(self.failed[kind]),
                )
            )
        rows.append(
            (
                "total",
                str(self.written()),
                str(sum(self.created.values())),
                str(self.total_unchanged),
                str(self.total_failed),
            )
        )
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        return [
            "  ".join(
                cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
                for i, cell in enumerate(row)
            ).rstrip()
            for row in rows
        ]

    def _seen(self, kind: SubgraphKind) -> bool:
        return any(c[kind] for c in (self.created, self.replaced, self.unchanged, self.failed))
