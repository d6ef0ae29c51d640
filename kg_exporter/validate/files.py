"""``kg-exporter validate FILE...``: validate JSON-LD files and print a report per file.

A file holds one document, a JSON array of documents, or ``{"subgraphs": [{"id": ..., "document":
...}, ...]}`` (each entry may say its ``kind``; otherwise the kind is read from the id,
``<cluster>:<kind>:...``, and the kind's main entities are checked too).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from kg_exporter.identity import SubgraphKind
from kg_exporter.validate.document import ValidationReport, validate_document


@dataclass(frozen=True, slots=True)
class Entry:
    """One document of a file: where it is, and its subgraph kind when the file says it."""

    label: str
    document: Any
    kind: SubgraphKind | None = None


class UnreadableFile(Exception):
    """A file that cannot be read or is not a JSON-LD document collection; the message says why."""


_KINDS = {kind.value: kind for kind in SubgraphKind}


def _kind_of(entry: Mapping[str, Any], subgraph_id: str | None) -> SubgraphKind | None:
    """The entry's ``kind``, else the second component of its id (``<cluster>:<kind>:...``)."""
    from_id = subgraph_id.split(":")[1] if subgraph_id and ":" in subgraph_id else None
    for value in (entry.get("kind"), from_id):
        if isinstance(value, str) and value in _KINDS:
            return _KINDS[value]
    return None


def _entry(item: Any, label: str) -> Entry:
    """A bare document, or an ``{"id", "document"[, "kind"]}`` envelope around one."""
    if isinstance(item, Mapping) and "document" in item and "@context" not in item:
        subgraph_id = item.get("id") if isinstance(item.get("id"), str) else None
        name = f"{label} ({subgraph_id})" if subgraph_id else label
        return Entry(name, item["document"], _kind_of(item, subgraph_id))
    return Entry(label, item)


def entries(data: Any) -> list[Entry]:
    """The documents a parsed file holds (see the module docstring for the accepted shapes)."""
    if isinstance(data, Mapping) and "subgraphs" in data and "@context" not in data:
        items = data["subgraphs"]
        if not isinstance(items, list):
            raise UnreadableFile('"subgraphs" must be a JSON array')
        return [_entry(item, f"subgraphs[{i}]") for i, item in enumerate(items)]
    if isinstance(data, list):
        return [_entry(item, f"[{i}]") for i, item in enumerate(data)]
    return [_entry(data, "document")]


def read_entries(path: Path) -> list[Entry]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UnreadableFile(f"cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"not UTF-8 text (byte {exc.start})") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnreadableFile(
            f"not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from exc
    except RecursionError as exc:
        raise UnreadableFile("nested deeper than Python's JSON parser goes") from exc
    found = entries(data)
    if not found:
        raise UnreadableFile("holds no document")
    return found


def validate_entry(entry: Entry) -> ValidationReport:
    if not isinstance(entry.document, Mapping):
        kind = type(entry.document).__name__
        return ValidationReport(False, [f"a JSON-LD document is a JSON object, not {kind}"])
    return validate_document(entry.document, kind=entry.kind)


def _print_file(path: str, found: list[Entry], out: TextIO) -> bool:
    reports = [(entry, validate_entry(entry)) for entry in found]
    failed = [(entry, report) for entry, report in reports if not report.conforms]
    count = f"{len(found)} document{'s' if len(found) != 1 else ''}"
    if not failed:
        print(f"{path}: OK ({count})", file=out)
        return True
    print(f"{path}: FAIL ({len(failed)} of {count})", file=out)
    for entry, report in failed:
        indent = "  "
        if len(found) > 1 or entry.label != "document":
            print(f"  {entry.label}:", file=out)
            indent = "    "
        for message in report.messages:
            print(f"{indent}{message}", file=out)
    return False


def validate_files(paths: Iterable[str | Path], *, out: TextIO | None = None) -> int:
    """Validate every document in every file; print ``<file>: OK`` or ``<file>: FAIL`` and the
    problems. Returns the exit code: 0 when every document conforms, 1 otherwise (including files
    that cannot be read or parsed)."""
    stream = out if out is not None else sys.stdout
    ok = True
    for path in paths:
        try:
            found = read_entries(Path(path))
        except UnreadableFile as exc:
            print(f"{path}: ERROR {exc}", file=stream)
            ok = False
            continue
        ok = _print_file(str(path), found, stream) and ok
    return 0 if ok else 1
