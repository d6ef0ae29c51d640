"""The compiled core of ``common-expression-language`` (its ``cel.cel`` extension), loaded without
running the package's ``__init__``.

That ``__init__`` (0.10.0, the newest release) imports the package's interactive CLI, and with it
typer, rich, prompt_toolkit and pygments: about 1.3 s of a 1.7 s ``import kg_exporter.kinds`` on a
loaded 2-core machine, paid by every daemon process before it can be ready, for nothing the exporter
uses. The extension is loaded here with the standard import machinery
(``importlib.util.spec_from_file_location`` and ``module_from_spec``), from the file the ``cel``
package holds, and registered as ``cel.cel``: a later ``import cel`` (benchmarks, tests) reuses
the same module, so the types are the same either way. If the package's layout ever changes so the
extension is not found, ``import cel`` is used instead: slower, never broken.
``tests/kinds/test_celcore.py`` checks both that the CLI stays unimported and that the types are
those of the package.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

_NAME = "cel.cel"


def _load() -> ModuleType:
    loaded = sys.modules.get(_NAME)
    if loaded is not None:
        return loaded
    package = importlib.util.find_spec("cel")  # finds the package without running it
    folders = package.submodule_search_locations if package is not None else None
    for folder in folders or ():
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = Path(folder) / f"cel{suffix}"
            if not path.is_file():
                continue
            spec = importlib.util.spec_from_file_location(_NAME, path)
            if spec is None or spec.loader is None:
                continue
            module = importlib.util.module_from_spec(spec)
            sys.modules[_NAME] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[_NAME]
                raise
            return module
    import cel  # the whole package, CLI included

    return sys.modules[_NAME] if _NAME in sys.modules else cel


if TYPE_CHECKING:
    from cel.cel import Context, Program, compile
else:
    _core = _load()
    Context, Program, compile = _core.Context, _core.Program, _core.compile

__all__ = ["Context", "Program", "compile"]
