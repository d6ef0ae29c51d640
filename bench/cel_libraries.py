"""Which CEL library evaluates the kind rules: common-expression-language (Rust) vs cel-python.

Every expression of every bundled kind entry, compiled by each library; then, per example object
of each kind (examples/) and per hostile variant of it (no status, status of the wrong type,
conditions that are not maps), every expression of its kind evaluated with each library. Prints:

- compile: all bundled expressions, milliseconds (median of runs);
- evaluate: microseconds per object for all of its kind's expressions, on the object as cut down
  for CEL (what the exporter does) and on the whole object, CPU time (median of runs);
- correctness: for each (object, expression) the value, or "error"; the libraries are compared
  with each other and with the exporter's contract (a guarded rule gives a value, never an error,
  on a normal object; any error is caught and reported, never raised past the evaluator).

    python bench/cel_libraries.py [--runs 5]

cel-python is not a dependency of kg-exporter: install it into the venv to run the comparison.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cel  # noqa: E402

from kg_exporter.kinds import bundled_registry  # noqa: E402
from kg_exporter.kinds.cel import prune  # noqa: E402
from kg_exporter.manifests import Manifest, read_manifests  # noqa: E402

ERROR = "error"


def hostile(obj: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Variants of ``obj`` a rule must survive: what real clusters and hand-written manifests do."""
    no_status = copy.deepcopy(obj)
    no_status.pop("status", None)
    wrong = copy.deepcopy(obj)
    wrong["status"] = "Running"
    odd_conditions = copy.deepcopy(obj)
    odd_conditions["status"] = {"conditions": [1, "x", None, {"type": 5}]}
    return [("no status", no_status), ("status a string", wrong), ("odd conditions", odd_conditions)]


def rust_backend() -> tuple[Callable[[str], Any], Callable[[Any, Any], Any]]:
    def evaluate(program: Any, obj: Any) -> Any:
        try:
            return program.execute({"object": obj})
        except Exception:
            return ERROR

    return cel.compile, evaluate


def python_backend() -> tuple[Callable[[str], Any], Callable[[Any, Any], Any]] | None:
    try:
        import celpy
    except ImportError:
        return None
    env = celpy.Environment()

    def compile_(source: str) -> Any:
        return env.program(env.compile(source))

    def evaluate(program: Any, obj: Any) -> Any:
        try:
            return plain(program.evaluate({"object": celpy.json_to_cel(obj)}))
        except Exception:
            return ERROR

    return compile_, evaluate


def plain(value: Any) -> Any:
    """cel-python's values as plain Python, to compare with the other library's."""
    from celpy import celtypes

    if isinstance(value, celtypes.BoolType):
        return bool(value)
    if isinstance(value, celtypes.IntType | celtypes.UintType):
        return int(value)
    if isinstance(value, celtypes.StringType):
        return str(value)
    if isinstance(value, celtypes.ListType):
        return [plain(v) for v in value]
    if isinstance(value, celtypes.MapType):
        return {plain(k): plain(v) for k, v in value.items()}
    if value is None or isinstance(value, celtypes.NullType):
        return None
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    kinds = bundled_registry()
    expressions = {
        (spec.kind, name): rule.source
        for spec in kinds.specs()
        for name, rule in spec.rules.items()
        if rule.program is not None
    }
    objects: list[tuple[str, dict[str, Any]]] = []
    for m in read_manifests([ROOT / "examples"]):
        if isinstance(m, Manifest) and m.obj.get("kind") in kinds:
            name = f"{m.obj['kind']}/{m.obj['metadata']['name']}"
            objects.append((name, m.obj))
            objects += [(f"{name} ({what})", o) for what, o in hostile(m.obj)]
    backends = {"common-expression-language": rust_backend(), "cel-python": python_backend()}
    print(f"{len(expressions)} expressions of {len(kinds)} kinds; {len(objects)} objects")
    results: dict[str, dict[tuple[str, str, str], Any]] = {}
    for label, backend in backends.items():
        if backend is None:
            print(f"{label}: not installed, skipped")
            continue
        compile_, evaluate = backend
        compile_ms = []
        for _ in range(args.runs):
            start = time.process_time()
            programs = {key: compile_(source) for key, source in expressions.items()}
            compile_ms.append((time.process_time() - start) * 1000)
        per_object: dict[str, list[float]] = {"pruned": [], "whole": []}
        for form in per_object:
            for _ in range(args.runs):
                start = time.process_time()
                count = 0
                for _, obj in objects:
                    spec = kinds[obj["kind"]]
                    given = prune(obj, spec.needs) if form == "pruned" else obj
                    for (kind, _rule), program in programs.items():
                        if kind == spec.kind:
                            evaluate(program, given)
                    count += 1
                per_object[form].append((time.process_time() - start) / count * 1e6)
        results[label] = {
            (name, kind, rule): evaluate(program, prune(obj, kinds[obj["kind"]].needs))
            for name, obj in objects
            for (kind, rule), program in programs.items()
            if kind == obj["kind"]
        }
        errors = sum(1 for v in results[label].values() if v == ERROR)
        print(
            f"{label}: compile {statistics.median(compile_ms):.1f} ms; evaluate "
            f"{statistics.median(per_object['pruned']):.0f} us/object as cut down, "
            f"{statistics.median(per_object['whole']):.0f} us/object whole; "
            f"{errors} of {len(results[label])} evaluations are errors"
        )
    if len(results) == 2:
        a, b = (results[k] for k in backends)
        differ = [k for k in a if a[k] != b[k]]
        print(f"the libraries disagree on {len(differ)} of {len(a)} evaluations")
        for key in differ[:15]:
            print(f"  {key[0]} {key[1]}.{key[2]}: {str(a[key])[:60]!s} vs {str(b[key])[:60]!s}")
    normal_errors = [
        k for k, v in results.get("common-expression-language", {}).items()
        if v == ERROR and "(" not in k[0] and not k[2].startswith(("pods.", "data."))
        and k[2] != "lifecycle.outcome"  # read only once stopped is true
    ]  # fmt: skip
    print(f"rule errors on the unmodified examples (should be 0): {len(normal_errors)}")
    for key in normal_errors[:10]:
        print(f"  {key}")


if __name__ == "__main__":
    main()
