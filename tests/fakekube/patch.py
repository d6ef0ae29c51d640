"""PATCH bodies: JSON merge patch (RFC 7386) and JSON patch (RFC 6902).

kubernetes_asyncio sends a dict body as ``application/strategic-merge-patch+json`` and a list as
``application/json-patch+json``. Strategic merge is treated as a plain merge patch: it differs only
for lists with patch-merge keys (containers, conditions), which our tests do not depend on.
"""

from __future__ import annotations

import copy
from typing import Any

MERGE_TYPES = frozenset({"application/merge-patch+json", "application/strategic-merge-patch+json"})
JSON_PATCH_TYPE = "application/json-patch+json"


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, ``null`` deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise ValueError(f"JSON pointer must start with '/': {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc: Any, parts: list[str]) -> Any:
    cur = doc
    for part in parts[:-1]:
        cur = cur[int(part)] if isinstance(cur, list) else cur[part]
    return cur


def json_patch(doc: Any, ops: list[dict[str, Any]]) -> Any:
    """RFC 6902 add/remove/replace/test/copy/move; raises ValueError on a failed op."""
    doc = copy.deepcopy(doc)
    for op in ops:
        kind, parts = op.get("op"), _pointer(op.get("path", ""))
        try:
            if kind in ("add", "replace", "copy", "move"):
                if kind in ("copy", "move"):
                    src = _pointer(op["from"])
                    sparent = _parent(doc, src)
                    key: Any = int(src[-1]) if isinstance(sparent, list) else src[-1]
                    value = copy.deepcopy(sparent[key])
                    if kind == "move":
                        del sparent[key]
                else:
                    value = copy.deepcopy(op["value"])
                if not parts:
                    doc = value
                    continue
                parent = _parent(doc, parts)
                last = parts[-1]
                if isinstance(parent, list):
                    idx = len(parent) if last == "-" else int(last)
                    if kind == "replace":
                        parent[idx] = value
                    else:
                        parent.insert(idx, value)
                else:
                    if kind == "replace" and last not in parent:
                        raise KeyError(last)
                    parent[last] = value
            elif kind == "remove":
                parent = _parent(doc, parts)
                del parent[int(parts[-1]) if isinstance(parent, list) else parts[-1]]
            elif kind == "test":
                parent = _parent(doc, parts)
                actual = parent[int(parts[-1]) if isinstance(parent, list) else parts[-1]]
                if actual != op.get("value"):
                    raise ValueError(f"test failed at {op.get('path')}")
            else:
                raise ValueError(f"unknown JSON patch op {kind!r}")
        except (KeyError, IndexError, TypeError) as exc:
            raise ValueError(f"JSON patch op {op!r} failed: {exc!r}") from exc
    return doc
