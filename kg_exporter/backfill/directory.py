"""``backfill --dry-run --out DIR``: a sink that writes each document to ``DIR/<id>.jsonld``.

Being a sink, a dry run goes through every step a real run does (render, write, prune, summary),
only the destination differs. Ids are plain ASCII without ``/`` (see
:mod:`kg_exporter.sink.ids`), so each is a file name as it is. Files are written whole and renamed
into place, so an interrupted run never leaves half a document.
"""

from __future__ import annotations

import builtins
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kg_exporter.backfill.outcome import WriteOutcome
from kg_exporter.errors import SinkError, SinkUnavailable
from kg_exporter.render.serialize import pretty_json
from kg_exporter.sink import PutOutcome
from kg_exporter.sink.ids import checked_id

SUFFIX = ".jsonld"


class DirectorySink:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @classmethod
    def open(cls, directory: Path) -> DirectorySink:
        """The sink writing into ``directory`` (created when missing); SinkUnavailable when it
        cannot be created."""
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SinkUnavailable(f"cannot create {directory}: {exc.strerror or exc}") from exc
        return cls(directory)

    async def put(self, subgraph_id: str, document: Mapping[str, Any]) -> PutOutcome:
        outcome = await self.put_outcome(subgraph_id, document)
        return PutOutcome.CREATED if outcome is WriteOutcome.CREATED else PutOutcome.REPLACED

    async def put_outcome(self, subgraph_id: str, document: Mapping[str, Any]) -> WriteOutcome:
        return _write(self._path(subgraph_id), _encode(document))

    async def get(self, subgraph_id: str) -> dict[str, Any] | None:
        path = self._path(subgraph_id)
        try:
            document = json.loads(path.read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError, RecursionError) as exc:  # RecursionError: nested too deep
            raise SinkError(f"cannot read {path}: {exc}") from exc
        if not isinstance(document, dict):
            raise SinkError(f"{path} does not hold a JSON-LD object")
        return document

    async def delete(self, subgraph_id: str) -> bool:
        try:
            self._path(subgraph_id).unlink()
        except FileNotFoundError:
            return False
        return True

    async def list(self, prefix: str = "") -> builtins.list[str]:
        return sorted(
            name[: -len(SUFFIX)]
            for name in os.listdir(self.directory)
            if name.endswith(SUFFIX) and name.startswith(prefix)
        )

    async def aclose(self) -> None:
        return None

    def _path(self, subgraph_id: str) -> Path:
        return self.directory / (checked_id(subgraph_id) + SUFFIX)


def _encode(document: Mapping[str, Any]) -> bytes:
    # Indented and key-ordered as rendered: the files are for people to read and diff.
    return pretty_json(document)


def _write(path: Path, data: bytes) -> WriteOutcome:
    try:
        if path.read_bytes() == data:
            return WriteOutcome.UNCHANGED
        existed = True
    except FileNotFoundError:
        existed = False
    except OSError as exc:
        raise SinkUnavailable(f"cannot read {path}: {exc.strerror or exc}") from exc
    partial = path.with_name(path.name + ".partial")
    try:
        partial.write_bytes(data)
        os.replace(partial, path)
    except OSError as exc:
        raise SinkUnavailable(f"cannot write {path}: {exc.strerror or exc}") from exc
    return WriteOutcome.REPLACED if existed else WriteOutcome.CREATED
