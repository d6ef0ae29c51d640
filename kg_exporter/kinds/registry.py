"""The kinds in force: the bundled kinds file, overridden and extended by the user's entries.

Built once at start-up from settings (:func:`registry_for`) and handed to whatever needs it; a
later entry with the same ``kind`` replaces an earlier one (user over bundled), two entries of one
kind in the same source are an error, and so is a child rule naming a kind nobody configured.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import ValidationError

from kg_exporter.errors import SettingsError
from kg_exporter.kinds.entry import WHERE_SERVED, KindEntry, amend
from kg_exporter.kinds.spec import KindError, KindSpec, compile_entry
from kg_exporter.yamltext import safe_load

if TYPE_CHECKING:
    from kg_exporter.settings import Settings

BUNDLED = Path(__file__).with_name("bundled.yaml")
NODE_KIND = "Node"


class KindRegistry:
    """Workload kinds by name. Iterating yields the kind names, in configuration order."""

    def __init__(self, specs: Iterable[KindSpec]) -> None:
        self._specs: dict[str, KindSpec] = {}
        for spec in specs:
            self._specs[spec.kind] = spec
        self._by_lower = {kind.lower(): kind for kind in self._specs}

    def __contains__(self, kind: object) -> bool:
        return isinstance(kind, str) and kind in self._specs

    def __iter__(self) -> Iterator[str]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

    def __getitem__(self, kind: str) -> KindSpec:
        return self._specs[kind]

    def get(self, kind: object) -> KindSpec | None:
        return self._specs.get(kind) if isinstance(kind, str) else None

    def specs(self) -> list[KindSpec]:
        return list(self._specs.values())

    def by_lower(self, kind: str) -> str | None:
        """The kind whose lower-cased name (as in subgraph ids) is ``kind``."""
        return self._by_lower.get(kind)

    def owner_spec(self, owner_api_version: object, owner_kind: object) -> KindSpec | None:
        """The configured kind an ownerReference names (its API group must match too)."""
        spec = self.get(owner_kind)
        if spec is None or not isinstance(owner_api_version, str):
            return None
        group = owner_api_version.rpartition("/")[0]
        return spec if group == spec.group else None


def bundled_entries() -> list[KindEntry]:
    return list(_bundled())


@cache
def _bundled() -> tuple[KindEntry, ...]:
    return tuple(parse_entries(yaml.safe_load(BUNDLED.read_text("utf-8")), str(BUNDLED)))


def parse_entries(data: Any, source: str) -> list[KindEntry]:
    """Kind entries from ``{kinds: [...]}`` (or a bare list) read from ``source``."""
    if isinstance(data, Mapping):
        data = data.get("kinds", [])
    if not isinstance(data, list):
        raise SettingsError(f"{source}: `kinds` must be a list of kind entries")
    entries = []
    for i, raw in enumerate(data):
        try:
            entries.append(KindEntry.model_validate(raw))
        except ValidationError as exc:
            name = raw.get("kind") if isinstance(raw, Mapping) else None
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'entry'}: "
                f"{'unknown field' if e['type'] == 'extra_forbidden' else e['msg']}"
                for e in exc.errors()
            )
            raise SettingsError(f"{source}: kinds[{i}] ({name or '?'}): {problems}") from None
    return entries


def read_kinds_file(path: Path) -> list[KindEntry]:
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise SettingsError(f"cannot read kinds file {path}: {exc.strerror}") from exc
    try:
        data = safe_load(text)
    except yaml.YAMLError as exc:
        raise SettingsError(f"kinds file {path} is not valid YAML: {exc}") from exc
    return parse_entries(data if data is not None else [], str(path))


def build_registry(sources: Sequence[tuple[str, Sequence[KindEntry]]]) -> KindRegistry:
    """Compile the entries of each ``(source name, entries)``; later sources override earlier."""
    merged: dict[str, tuple[str, int, KindEntry]] = {}
    for source, entries in sources:
        seen: set[str] = set()
        for i, entry in enumerate(entries):
            if entry.kind in seen:
                raise SettingsError(f"{source}: kinds[{i}] ({entry.kind}): duplicate kind")
            seen.add(entry.kind)
            merged[entry.kind] = (source, i, _merged(entry, merged.get(entry.kind), source, i))
    specs = []
    for source, i, entry in merged.values():
        try:
            specs.append(compile_entry(entry))
        except KindError as exc:
            raise SettingsError(
                f"{source}: kinds[{i}] ({entry.kind}): {exc.field}: {exc.message}"
            ) from None
        for j, child in enumerate(entry.children):
            if child.kind not in merged:
                raise SettingsError(
                    f"{source}: kinds[{i}] ({entry.kind}): children[{j}].kind: "
                    f"{child.kind} is not a configured kind"
                )
    return KindRegistry(specs)


def _merged(
    entry: KindEntry, earlier: tuple[str, int, KindEntry] | None, source: str, i: int
) -> KindEntry:
    """``entry`` as it stands: whole, or amending the ``earlier`` entry of its kind."""
    where = f"{source}: kinds[{i}] ({entry.kind})"
    missing = [name for name in WHERE_SERVED if getattr(entry, name) is None]
    if not missing:
        return entry
    if len(missing) < len(WHERE_SERVED):
        given = " and ".join(n for n in WHERE_SERVED if n not in missing)
        raise SettingsError(
            f"{where}: {missing[0]}: required with {given} (give none of {', '.join(WHERE_SERVED)}"
            f" to amend the configured {entry.kind})"
        )
    if earlier is None:
        raise SettingsError(
            f"{where}: group: required: {entry.kind} is not a configured kind to amend (an entry "
            "without group, versions and plural amends one)"
        )
    return amend(earlier[2], entry)


def registry_for(settings: Settings) -> KindRegistry:
    """The registry ``settings`` configure: bundled, then ``kinds_config``, then ``kinds``."""
    sources: list[tuple[str, Sequence[KindEntry]]] = [("bundled kinds", _bundled())]
    if settings.kinds_config is not None:
        sources.append((str(settings.kinds_config), read_kinds_file(settings.kinds_config)))
    if settings.kinds:
        sources.append(("setting 'kinds'", settings.kinds))
    return build_registry(sources)


@cache
def bundled_registry() -> KindRegistry:
    """The bundled kinds alone: the default of tools and tests given no settings."""
    return build_registry([("bundled kinds", _bundled())])
