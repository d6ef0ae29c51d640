"""Manifests from disk: multi-document YAML, JSON, and ``kubectl get -o json`` Lists.

Each object comes with where it was found (file and line) so every later message can point at it. A
document that cannot be read is reported as a :class:`ManifestError` in the stream and reading goes
on with the next file: one bad file must not hide a directory of good ones.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kg_exporter.errors import ManifestError
from kg_exporter.manifests.construct import document
from kg_exporter.surrogates import without_lone_surrogates

SUFFIXES = (".yaml", ".yml", ".json")

try:  # libyaml is ~10x faster on large manifest directories; fall back when it is absent.
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment,unused-ignore]
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader


@dataclass(frozen=True, slots=True)
class Manifest:
    """One Kubernetes object and where it came from."""

    obj: dict[str, Any]
    source: str
    line: int

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"


def _files(paths: Iterable[Path]) -> Iterator[Path | ManifestError]:
    for path in paths:
        if path.is_dir():
            yield from _walk(path)
        elif path.is_file():
            yield path
        else:
            yield ManifestError(f"{path}: no such file or directory")


def _walk(root: Path) -> Iterator[Path | ManifestError]:
    """The manifest files under ``root``, sorted, and an error for each directory that cannot be
    listed. ``Path.rglob`` skips those without a word, and a backfill that does not know some
    input was missed would ``--prune`` every workload in it."""
    found: list[Path | ManifestError] = []

    def unlistable(exc: OSError) -> None:
        found.append(ManifestError(f"{exc.filename}: cannot list: {exc.strerror or exc}"))

    for directory, subdirectories, names in os.walk(root, onerror=unlistable):
        subdirectories.sort()
        base = Path(directory)
        found.extend(
            base / name for name in names if name.endswith(SUFFIXES) and (base / name).is_file()
        )
    yield from sorted(found, key=lambda item: str(item) if isinstance(item, Path) else "")


def _flatten(obj: Any, source: str, line: int) -> Iterator[Manifest | ManifestError]:
    if obj is None:  # an empty YAML document (e.g. a trailing ---)
        return
    if not isinstance(obj, dict):
        yield ManifestError(
            f"{source}:{line}: expected a Kubernetes object, got {type(obj).__name__}"
        )
        return
    kind = obj.get("kind")
    items = obj.get("items")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(items, list):
        # Items of a typed list (DeploymentList) carry no kind of their own.
        item_kind = kind[: -len("List")] or None
        for item in items:
            if isinstance(item, dict) and "kind" not in item and item_kind:
                item = {"kind": item_kind, **item}
            yield from _flatten(item, source, line)
        return
    yield Manifest(obj, source, line)


def _read_yaml(text: str, source: str) -> Iterator[Manifest | ManifestError]:
    loader = _Loader(text)
    try:
        while True:
            try:
                if not loader.check_node():
                    return
                node = loader.get_node()
                line = node.start_mark.line + 1 if node is not None else 1
                data = document(loader, node) if node is not None else None
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                where = f"{source}:{mark.line + 1}" if mark is not None else source
                problem = getattr(exc, "problem", None) or str(exc)
                yield ManifestError(f"{where}: not valid YAML: {problem}")
                return  # the parser cannot resynchronise after an error
            except RecursionError:
                yield ManifestError(f"{source}: not valid YAML: nested too deeply")
                return
            yield from _flatten(data, source, line)
    finally:
        loader.dispose()


def _read_json(text: str, source: str) -> Iterator[Manifest | ManifestError]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        yield ManifestError(
            f"{source}:{exc.lineno}: not valid JSON: {exc.msg} (column {exc.colno})"
        )
        return
    except RecursionError:
        # Python's parser recurses per level: a file nested ~100,000 deep is not a manifest.
        yield ManifestError(f"{source}: not valid JSON: nested too deeply")
        return
    yield from _flatten(without_lone_surrogates(data, text), source, 1)


def read_manifests(paths: Iterable[Path | str]) -> Iterator[Manifest | ManifestError]:
    """Every object in ``paths`` (files, or directories searched for *.yaml, *.yml, *.json),
    interleaved with a :class:`ManifestError` for each part that could not be read."""
    for entry in _files(Path(p) for p in paths):
        if isinstance(entry, ManifestError):
            yield entry
            continue
        source = str(entry)
        try:
            text = entry.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            yield ManifestError(f"{source}: cannot read: {exc}")
            continue
        if entry.suffix == ".json" or text.lstrip().startswith(("{", "[")):
            yield from _read_json(text, source)
        else:
            yield from _read_yaml(text, source)


def kind_of(obj: Mapping[str, Any]) -> str:
    kind = obj.get("kind")
    return kind if isinstance(kind, str) else "<no kind>"
