"""The Jinja2 environment every template renders in.

The environment, not the templates, makes the output safe: ``finalize`` JSON-encodes every value a
template prints, so ``{{ name }}`` becomes ``"web"`` and a name holding ``"``, ``}``, ``{{`` or a newline
is still one JSON string. Templates therefore never write quotes around ``{{ }}``, share pieces with
``{% include %}`` (whose output is not a printed value) rather than macros, and only
:class:`RawJSON`, which no Kubernetes data ever is, passes through unencoded (the ``@context``).
``StrictUndefined`` makes a template naming a missing field fail loudly instead of printing nothing.

Templates come from a directory users may override (in ``deploy/``, a ConfigMap), so they render in
Jinja's sandbox: ``{{ cycler.__init__.__globals__.os.popen('id').read() }}`` in a plain environment
runs commands with the exporter's service-account and sink tokens; in the sandbox it is a template
error (``access to attribute '__init__' of 'type' object is unsafe``). Facts are plain dicts, looked
up as items first, so the sandbox's checks cost the common path nothing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import jinja2
from jinja2.runtime import Context, LoopContext
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel

from kg_exporter.identity import Iris
from kg_exporter.render import promql
from kg_exporter.render.podlabels import pod_label_join


class RawJSON(str):
    """Text that already is JSON (the pre-encoded ``@context``); printed as it is."""

    __slots__ = ()


_encode_str: Callable[[str], str] = json.encoder.encode_basestring_ascii
_LITERALS = {True: "true", False: "false", None: "null"}


def _finalize(value: Any) -> str:
    # ensure_ascii keeps documents 7-bit clean: every store and proxy accepts them, and lone
    # surrogates cannot slip through as invalid UTF-8. Strings, the common case, skip the general
    # encoder (rendering speed is a target).
    kind = type(value)
    if kind is str:
        return _encode_str(value)
    if kind is RawJSON:
        return str.__str__(value)
    if kind is bool or value is None:
        return _LITERALS[value]
    if kind is int or (kind is float and math.isfinite(value)):
        # What json.dumps writes for these (repr), without its encoder's set-up per call.
        return repr(value)
    if isinstance(value, jinja2.Undefined):
        # StrictUndefined raises on str() but not on json.dumps(): make it fail as it should.
        str(value)
    return json.dumps(value, ensure_ascii=True)


class _Environment(SandboxedEnvironment):
    """Looks up ``a.b`` on plain dicts as an item first: facts are dicts, and the default order
    (attribute, then item) costs an AttributeError per lookup. Anything else goes through the
    sandbox's checks. The exporter's own helper functions (:meth:`trust`) are called directly."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        # By id, with the object kept so the id cannot be reused while trusted.
        self._trusted: dict[int, Callable[..., Any]] = {}

    def trust(self, functions: dict[str, Any]) -> None:
        """Add ``functions`` to the globals; those callable are called without the sandbox's
        per-call checks and context handling (about 10 calls per workload render): they are the
        exporter's own, take no context, and are safe by construction."""
        self.globals.update(functions)
        self._trusted.update({id(f): f for f in functions.values() if callable(f)})

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        # Positional-only: a template's keyword arguments may be named ``context`` or ``obj``.
        trusted = self._trusted.get(id(obj))
        if trusted is not None and trusted is obj:
            kwargs.pop("_block_vars", None)
            kwargs.pop("_loop_vars", None)
            return trusted(*args, **kwargs)
        return SandboxedEnvironment.call(self, context, obj, *args, **kwargs)

    def getattr(self, obj: Any, attribute: str) -> Any:
        kind = type(obj)
        if kind is dict:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        if (kind is LoopContext or isinstance(obj, BaseModel)) and not attribute.startswith("_"):
            # ``loop.last`` and the settings templates read (label names, dashboard uids): a
            # public attribute of these is plain data, and what it yields is checked again when
            # used (an attribute of a method, a call), so the sandbox still stands.
            try:
                return getattr(obj, attribute)
            except AttributeError:
                pass
        return super().getattr(obj, attribute)


@jinja2.pass_environment
def id_refs(
    env: jinja2.Environment,
    values: Iterable[Any],
    attribute: str | None = None,
    prefix: str | None = None,
) -> RawJSON:
    """The filter ``id_refs``: the JSON-LD list ``[{"@id": prefix ~ v}, ...]`` for ``values`` (or
    their ``attribute``), each id encoded as ``{{ }}`` would. A loop writing the same list costs
    more than the rest of it, ``loop.last`` most (bench/render.py)."""
    items = []
    for value in values:
        if attribute is not None:
            value = env.getattr(value, attribute)
        if prefix is not None:
            value = prefix + str(value)  # as ``~`` does (an undefined value raises)
        items.append('{"@id": ' + _finalize(value) + "}")
    return RawJSON("[" + ",".join(items) + "]")


def _loader(user_dir: Path | None, bundled_dir: Path) -> jinja2.BaseLoader:
    # A user's directory overrides the bundled templates name by name; the rest fall back.
    paths = [str(user_dir), str(bundled_dir)] if user_dir is not None else [str(bundled_dir)]
    return jinja2.FileSystemLoader(paths)


def make_environment(
    bundled_dir: Path, user_dir: Path | None = None, globals_: dict[str, Any] | None = None
) -> SandboxedEnvironment:
    """The environment; ``globals_`` are the exporter's own values for every template (its
    callables are trusted like the helpers here: never pass anything a user supplied)."""
    env = _Environment(
        loader=_loader(user_dir, bundled_dir),
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,
    )
    env.filters["id_refs"] = id_refs
    env.trust(
        {
            "promql_selector": promql.selector,
            "promql_string": promql.quote_string,
            "regex_escape": promql.escape_regex,
            "pod_label_join": pod_label_join,
            "child_iri": Iris.child,
            **(globals_ or {}),
        }
    )
    return env


def load_template(env: jinja2.Environment, name: str) -> jinja2.Template:
    """``env``'s template ``name``, ready to render many times; raises jinja2.TemplateError."""
    template = env.get_template(name)
    # Its globals are a ChainMap over the environment's, which every render copies into a new
    # dict one Python-level lookup per name (ChainMap is written in Python). Neither changes once
    # the templates are loaded, so a plain dict gives the same context for less (bench/render.py).
    template.globals = dict(template.globals)
    return template
