"""The CEL expressions of kind entries: compiled once at start-up, evaluated per object.

Evaluated with ``common-expression-language`` (Rust bindings; chosen by measurement against
``cel-python``, see ``bench/cel_libraries.py``). Handing an object to CEL converts it value by value, which
costs about 2 µs per field, so the object is first cut down to what the kind's expressions can
reach (:func:`needed_paths`, :func:`prune`): a Deployment's lifecycle rules then see a dozen fields
instead of its whole pod template. The analysis is conservative — anything it cannot follow keeps
the whole subtree — and ``tests/kinds/test_cel.py`` checks that pruned and whole objects give the
same results. Paths that are plain field selections (``object.spec.template``) are read in Python,
the way CEL would select them, so a pod template never makes the round trip through CEL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from kg_exporter.kinds import celcore as cel

#: The variable every expression reads: the Kubernetes object.
ROOT: Final = "object"
#: A trie node meaning "the whole subtree".
FULL: Final = "*"
#: The trie key standing for "every element" of a list a macro iterates.
ELEMENT: Final = "[]"
Needs = dict[str, Any]  # key → Needs | FULL

_SCALARS = frozenset({str, int, float, bool, type(None)})
#: Type names an expression may compare with type(x): CEL reports them as variables.
_TYPES = frozenset({"int", "uint", "double", "bool", "string", "bytes", "list", "map", "null_type", "type"})
_MACROS = frozenset({"exists", "all", "exists_one", "map", "filter"})
#: CEL's standard functions (cel-spec "List of Standard Definitions") plus the operators' names.
_FUNCTIONS = frozenset(
    {
        "size", "matches", "contains", "startsWith", "endsWith", "int", "uint", "double",
        "string", "bool", "bytes", "timestamp", "duration", "dyn", "type", "has", "max", "min",
        "getDate", "getDayOfMonth", "getDayOfWeek", "getDayOfYear", "getFullYear", "getHours",
        "getMilliseconds", "getMinutes", "getMonth", "getSeconds", "exists", "all",
        "exists_one", "map", "filter", "in",
    }
)  # fmt: skip
_STRING = re.compile(r"""[rR]?("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')""")
_CHAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\s*\.\s*[A-Za-z_][A-Za-z0-9_]*)*")
_BINDING = re.compile(r"\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*,")


class ExpressionError(ValueError):
    """An expression that cannot be compiled, or reads a variable or function CEL does not know."""


class EvaluationError(Exception):
    """An expression met what it did not expect. ``missing``: a field it selected is absent."""

    def __init__(self, message: str, *, missing: bool) -> None:
        super().__init__(message)
        self.missing = missing


@dataclass(frozen=True, slots=True)
class Expression:
    source: str
    #: The field names of a plain selection (``object.a.b`` → ``("a", "b")``), read in Python.
    chain: tuple[str, ...] | None
    program: cel.Program | None

    def evaluate(self, context: cel.Context | None, obj: Mapping[str, Any]) -> Any:
        """The value for ``obj`` (``context`` holds its pruned form); raises EvaluationError."""
        if self.chain is not None:
            value: Any = obj
            for name in self.chain:
                if not isinstance(value, Mapping):
                    raise EvaluationError(f"{name!r} selected from a non-map", missing=False)
                if name not in value:
                    raise EvaluationError(f"no such key: {name!r}", missing=True)
                value = value[name]
            return value
        assert self.program is not None and context is not None
        try:
            return self.program.execute(context)
        except KeyError as exc:
            raise EvaluationError(f"no such key: {exc}", missing=True) from None
        except Exception as exc:  # the bindings raise TypeError, ValueError, RuntimeError...
            raise EvaluationError(_first_line(exc), missing=False) from None


def compile_expression(source: str) -> Expression:
    """Compile ``source``; :class:`ExpressionError` says what is wrong with it."""
    chain = _plain_chain(source)
    if chain is not None:
        return Expression(source, chain, None)
    try:
        program = cel.compile(source)
    except (ValueError, RuntimeError) as exc:
        raise ExpressionError(_first_line(exc)) from None
    references = program.references()
    bound = set(_BINDING.findall(_strip_strings(source)))
    unknown = [
        v for v in references["variables"] if v != ROOT and v not in bound and v not in _TYPES
    ]
    if unknown:
        raise ExpressionError(
            f"unknown variable {unknown[0]!r} (expressions read `{ROOT}`, the Kubernetes object)"
        )
    for function in references["functions"]:
        if function[:1].isalpha() and function not in _FUNCTIONS:
            raise ExpressionError(f"unknown function {function!r}")
    return Expression(source, None, program)


def context_for(pruned: Mapping[str, Any]) -> cel.Context:
    context = cel.Context()
    context.add_variable(ROOT, pruned)
    return context


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split("\n")[:3])[:300]


def _plain_chain(source: str) -> tuple[str, ...] | None:
    parts = [p.strip() for p in source.strip().split(".")]
    if len(parts) < 2 or parts[0] != ROOT:
        return None
    if all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", p) for p in parts[1:]):
        return tuple(parts[1:])
    return None


def _strip_strings(source: str) -> str:
    return _STRING.sub('""', source)


# -- what an expression can reach --------------------------------------------------------------


def needed_paths(source: str) -> list[tuple[str, ...]]:
    """Paths of ``object`` the expression may read: each is a tuple of field names (and
    :data:`ELEMENT` for the items a macro iterates); its last entry is :data:`FULL` when the whole
    subtree there may be read, else only its presence (``has()``) is."""
    text = _strip_strings(source)
    bindings: dict[str, tuple[str, ...]] = {}
    paths: list[tuple[str, ...]] = []
    declarations: set[int] = set()  # where a macro names its variable: not a use of it
    for match in _CHAIN.finditer(text):
        if match.start() in declarations:
            continue
        names = [n.strip() for n in match.group(0).split(".")]
        root, rest = names[0], names[1:]
        before, after = text[: match.start()], text[match.end() :]
        if before.rstrip().endswith("."):
            continue  # a method on a value the chain before it produced: covered by that chain
        if root == ROOT:
            base: tuple[str, ...] = ()
        elif root in bindings:
            base = bindings[root]
        else:
            continue  # a function name, a literal (true, null) or an unbound name
        follows = after.lstrip()[:1]
        if rest and follows == "(":
            method = rest.pop()
            stripped = after.lstrip()
            binding = _BINDING.match(stripped)
            if method in _MACROS and binding is not None:
                bindings[binding.group(1)] = (*base, *rest, ELEMENT)
                declarations.add(match.end() + len(after) - len(stripped) + binding.start(1))
                if method == "filter":  # its result holds whole elements
                    paths.append((*base, *rest, ELEMENT, FULL))
                else:
                    paths.append((*base, *rest, ELEMENT))  # every item, at least its presence
                continue
            paths.append((*base, *rest, FULL))  # a method on the value: it needs all of it
            continue
        presence = re.search(r"\bhas\(\s*$", before) is not None and follows == ")"
        paths.append((*base, *rest) if presence and rest else (*base, *rest, FULL))
    return paths


def needs_of(sources: Iterable[str]) -> Needs | str:
    """The union of what ``sources`` may read, as a trie for :func:`prune`."""
    trie: Needs = {}
    for source in sources:
        chain = _plain_chain(source)
        if chain is not None:
            continue  # read in Python from the whole object
        for path in needed_paths(source):
            if not path or path == (FULL,):
                return FULL
            _add(trie, path)
    return trie


def _add(trie: Needs, path: tuple[str, ...]) -> None:
    node = trie
    for i, name in enumerate(path):
        if name == FULL:
            return
        child = node.get(name)
        if child == FULL:
            return
        if i + 1 < len(path) and path[i + 1] == FULL:
            node[name] = FULL
            return
        if child is None:
            child = node[name] = {}
        node = child


#: CEL's ``map`` and ``filter`` (common-expression-language 0.10) copy the list they build at every
#: step, so a macro over N items costs N²: measured 0.05 s at 1,000 strings, 2.4 s at 4,000 maps, so
#: a hostile 100,000 conditions would block the daemon's event loop for hours at every event. The
#: rules therefore see at most MAX_LIST items of any one list and MAX_TOTAL items of all lists
#: together, the keys of maps counted as items (a macro over a map iterates its keys). Nested macros
#: cost each inner list's square: a MiniCluster of 300 containers each with 300 volumes, built for
#: it, takes 0.7 s (measured). Real objects hold a handful of conditions, jobs or containers.
MAX_LIST: Final = 128
MAX_TOTAL: Final = 8192


class Budget:
    """What is left of :data:`MAX_TOTAL` for one object, and whether anything was cut."""

    __slots__ = ("cut", "left")

    def __init__(self) -> None:
        self.left = MAX_TOTAL
        self.cut = False

    def take(self, items: list[Any]) -> list[Any]:
        n = min(len(items), MAX_LIST, self.left)
        self.left -= n
        if n < len(items):
            self.cut = True
            return items[:n]
        return items


def prune(value: Any, needs: Needs | str, budget: Budget | None = None) -> Any:
    """The part of ``value`` that ``needs`` reaches; the same CEL results, far fewer fields (and
    lists cut to what ``budget`` allows: a fresh one when None)."""
    if budget is None:
        budget = Budget()
    if needs == FULL:
        return _capped(value, budget)
    assert isinstance(needs, dict)
    # Exact types first: isinstance against the Mapping ABC is several times slower, and this runs
    # per field.
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is dict or (kind is not list and isinstance(value, Mapping)):
        if ELEMENT in needs:
            return _capped(value, budget)  # a macro over a map iterates its keys
        return {k: prune(value[k], sub, budget) for k, sub in needs.items() if k in value}
    if kind is list:
        element = needs.get(ELEMENT)
        if element is None:
            return []
        return [prune(item, element, budget) for item in budget.take(value)]
    return value


def _capped(value: Any, budget: Budget) -> Any:
    """``value`` whole, but for its lists cut to ``budget`` (copied only where something is)."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is list:
        items = budget.take(value)
        out = [_capped(item, budget) for item in items]
        same = len(items) == len(value) and all(a is b for a, b in zip(out, value, strict=True))
        return value if same else out
    if kind is dict or isinstance(value, Mapping):
        # A macro over a map iterates its keys: the keys count against the budget as a list does.
        keys = budget.take(list(value))
        out_map = {k: _capped(value[k], budget) for k in keys}
        same = len(keys) == len(value) and all(out_map[k] is value[k] for k in keys)
        return value if same else out_map
    return value
