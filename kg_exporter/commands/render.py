"""`kg-exporter render`: manifests → subgraphs on stdout, notes on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from kg_exporter.errors import ManifestError, RenderError
from kg_exporter.manifests import Manifest, read_manifests
from kg_exporter.render.batch import Skipped, render_objects
from kg_exporter.render.renderer import Renderer, Subgraph
from kg_exporter.settings import Settings


def _objects(
    paths: Iterable[Path], errors: list[ManifestError]
) -> Iterator[tuple[dict[str, Any], str]]:
    for item in read_manifests(paths):
        if isinstance(item, Manifest):
            yield item.obj, item.where
        else:
            errors.append(item)
            print(f"error: {item}", file=sys.stderr)


def _write_jsonld(subgraphs: Iterable[Subgraph], out: TextIO) -> None:
    # Streamed, so a directory of 10,000 workloads never sits in memory as one document.
    out.write('{"subgraphs": [')
    for index, subgraph in enumerate(subgraphs):
        entry = {"id": subgraph.id, "kind": subgraph.kind.value, "document": subgraph.document}
        out.write(("\n" if index == 0 else ",\n") + json.dumps(entry, ensure_ascii=False))
    out.write("\n]}\n")


def _write_rdf(subgraphs: Iterable[Subgraph], out: TextIO, fmt: str) -> int:
    """Write each subgraph as N-Quads or Turtle; the number that could not be read as JSON-LD
    (each listed on stderr)."""
    from kg_exporter.render import serialize
    from kg_exporter.resources import context

    prefixes = serialize.context_prefixes(context())
    failed = 0
    for subgraph in subgraphs:
        try:
            if fmt == "nquads":
                text = serialize.nquads(subgraph.id, subgraph.document).decode("utf-8")
            else:
                turtle = serialize.turtle(subgraph.document, prefixes).decode("utf-8")
                text = f"# subgraph {subgraph.id} ({subgraph.kind.value})\n{turtle}\n"
        except RenderError as exc:
            failed += 1
            print(f"error: {subgraph.id}: cannot render: {exc}", file=sys.stderr)
            continue
        out.write(text)
    return failed


def render_command(paths: list[Path], settings: Settings, *, fmt: str, out: TextIO) -> int:
    """Render every subgraph the manifests yield; 1 when some input could not be read or some
    object could not be rendered (each listed on stderr)."""
    renderer = Renderer(settings)
    errors: list[ManifestError] = []
    failed = 0

    def subgraphs() -> Iterator[Subgraph]:
        nonlocal failed
        for result in render_objects(_objects(paths, errors), renderer):
            if isinstance(result, Skipped) and result.failed:
                failed += 1
                print(f"error: {result.where}: cannot render: {result.reason}", file=sys.stderr)
            elif isinstance(result, Skipped):
                print(f"note: {result.where}: skipped: {result.reason}", file=sys.stderr)
            else:
                yield result

    if fmt == "jsonld":
        _write_jsonld(subgraphs(), out)
    else:
        unreadable = _write_rdf(subgraphs(), out, fmt)
        failed += unreadable
    if errors or failed:
        print(
            f"{len(errors)} input error(s), {failed} object(s) not rendered; the rest was rendered",
            file=sys.stderr,
        )
        return 1
    return 0
