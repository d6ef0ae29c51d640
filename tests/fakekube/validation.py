"""Reject objects the real client could not read back.

kubernetes_asyncio deserializes every typed response with client-side validation on: a Job
without ``spec.template`` or a Deployment without ``spec.selector`` makes ``list_*``/``watch``
raise ValueError inside the client. A test that seeds such an object would see the daemon under
test fail for a reason no real cluster produces (the apiserver validates far more strictly), so
the fake refuses it at write time with 422 Invalid, naming the field.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from kubernetes_asyncio.client import ApiClient

from . import errors
from .resources import Obj, Resource


class ModelValidator:
    """Deserializes into the client's model (``V1Deployment`` …); must be made on a running
    loop, since the ApiClient owns an aiohttp session, and closed there."""

    def __init__(self) -> None:
        self._client = ApiClient()

    def __call__(self, res: Resource, obj: Obj) -> None:
        try:
            # deserialize() only reads .data: the same trick kubernetes_asyncio's Watch uses.
            response: Any = SimpleNamespace(data=json.dumps(obj))
            self._client.deserialize(response, res.model)
        except (ValueError, TypeError) as exc:
            name = (obj.get("metadata") or {}).get("name", "")
            raise errors.invalid(res, name, str(exc)) from exc

    async def close(self) -> None:
        await self._client.close()
