"""``FakeKube``: the fake API server on a private thread and event loop, with synchronous,
thread-safe controls for tests.

Controls run on the server's loop (``_call``), so the store stays single-threaded and a control
is ordered exactly with the requests around it. They act as a controller would ("god mode"):
``create`` keeps the given status, ``update`` may change status and deletionTimestamp.
"""

from __future__ import annotations

import asyncio
import math
import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from .errors import KubeError
from .patch import merge_patch
from .resources import Obj, Resource
from .server import FakeKubeServer
from .state import RequestRecord, Settings

T = TypeVar("T")

_CALL_TIMEOUT = 10.0  # seconds; a control that takes longer means the loop is wedged


class FakeKube:
    """A fake Kubernetes API server on ``http://127.0.0.1:{port}``.

    Use as a context manager, or ``start()``/``stop()``. See ``tests/fakekube/README.md``.
    """

    def __init__(
        self,
        *,
        port: int = 0,
        token: str | None = "fake-token",
        bookmark_interval: float = 1.0,
        default_watch_timeout: float | None = None,
        history_limit: int = 10_000,
        kubeconfig_path: str | Path | None = None,
        validate: bool = True,
    ) -> None:
        settings = Settings(
            token=token,
            bookmark_interval=bookmark_interval,
            default_watch_timeout=default_watch_timeout,
        )
        # validate: refuse (422) objects kubernetes_asyncio could not deserialize (validation.py).
        self._server = FakeKubeServer(settings, history_limit=history_limit, validate=validate)
        self._port = port
        self._kubeconfig_wanted = Path(kubeconfig_path) if kubeconfig_path else None
        self._kubeconfig: Path | None = None
        self._tmpdir: Path | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> FakeKube:
        if self._thread is not None:
            raise RuntimeError("FakeKube is already started")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="fakekube", daemon=True)
        self._thread.start()
        try:
            self._call_async(self._server.start("127.0.0.1", self._port))
            from .kubeconfig import write_kubeconfig

            if self._kubeconfig_wanted is None:
                self._tmpdir = Path(tempfile.mkdtemp(prefix="fakekube-"))
            path = self._kubeconfig_wanted or self._tmpdir / "kubeconfig"  # type: ignore[operator]
            self._kubeconfig = write_kubeconfig(path, self.url, self._server.settings.token)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """End every watch, close every connection, stop the loop and join its thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            if thread.is_alive():
                self._call_async(self._server.stop())
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(_CALL_TIMEOUT)
            self._loop = self._thread = None
            if self._tmpdir is not None:
                shutil.rmtree(self._tmpdir, ignore_errors=True)
                self._tmpdir = None

    def __enter__(self) -> FakeKube:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
            # Whatever is still pending (a handler mid-write) is cancelled, not leaked.
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()

    def _call(self, fn: Callable[[], T]) -> T:
        async def run() -> T:
            return fn()

        return self._call_async(run())

    def _call_async(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._loop is None:
            coro.close()
            raise RuntimeError("FakeKube is not started")
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("FakeKube controls are synchronous; call them from another thread")
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(_CALL_TIMEOUT)

    # -- where it is -------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.port}"

    @property
    def token(self) -> str | None:
        return self._server.settings.token

    @property
    def kubeconfig_path(self) -> Path:
        if self._kubeconfig is None:
            raise RuntimeError("FakeKube is not started")
        return self._kubeconfig

    # -- objects -----------------------------------------------------------------------

    def _find(self, name: str, api_version: str | None = None) -> Resource:
        # On the loop: the registry changes as CRDs are written.
        return self._call(lambda: self._server.store.registry.find(name, api_version))

    def _resource_of(self, obj: Obj) -> Resource:
        api_version = obj.get("apiVersion")
        return self._find(str(obj.get("kind", "")), api_version if api_version else None)

    def create(self, obj: Obj) -> Obj:
        """Create ``obj`` (its ``kind`` picks the resource) exactly as given, status included."""
        res = self._resource_of(obj)
        return self._call(lambda: self._server.store.create(res, obj, as_api=False))

    def update(self, obj: Obj) -> Obj:
        """Replace the stored object (status too). A set metadata.resourceVersion must match."""
        res = self._resource_of(obj)
        return self._call(lambda: self._server.store.update(res, obj, as_api=False))

    def patch(self, kind: str, namespace: str | None, name: str, patch: Obj) -> Obj:
        """JSON-merge-patch the whole object (spec changes bump generation)."""
        res = self._find(kind)
        return self._call(
            lambda: self._server.store.patch(
                res, namespace, name, lambda o: merge_patch(o, patch), as_api=False
            )
        )

    def patch_status(self, kind: str, namespace: str | None, name: str, status: Obj) -> Obj:
        """Merge-patch ``status`` only, like a controller's /status write (generation stays)."""
        res = self._find(kind)
        return self._call(
            lambda: self._server.store.patch(
                res,
                namespace,
                name,
                lambda o: merge_patch(o, {"status": status}),
                subresource="status",
            )
        )

    def scale(self, kind: str, namespace: str | None, name: str, replicas: int) -> Obj:
        """Set spec.replicas (bumps generation, like ``kubectl scale``)."""
        return self.patch(kind, namespace, name, {"spec": {"replicas": replicas}})

    def delete(self, kind: str, namespace: str | None, name: str) -> Obj:
        """Delete and return the last state; KubeError(404) if absent. With finalizers the object
        only gets a deletionTimestamp until an update empties them."""
        res = self._find(kind)
        return self._call(lambda: self._server.store.delete(res, namespace, name))

    def get(self, kind: str, namespace: str | None, name: str) -> Obj | None:
        res = self._find(kind)

        def get() -> Obj | None:
            try:
                return self._server.store.get(res, namespace, name)
            except KubeError:
                return None

        return self._call(get)

    def list_objects(self, kind: str, namespace: str | None = None) -> list[Obj]:
        """Stored objects of a kind, sorted by (namespace, name); all namespaces if None."""
        res = self._find(kind)
        return self._call(lambda: self._server.store.list(res, namespace)[1])

    # -- faults ------------------------------------------------------------------------

    def drop_watches(self, *, abrupt: bool = True) -> int:
        """End every open watch now and return how many. ``abrupt`` resets the connection
        mid-stream (the client sees a broken response); otherwise the stream ends cleanly."""
        return self._call(lambda: self._server.store.end_watches(abrupt=abrupt))

    def compact(self) -> int:
        """Forget the event history: a watch from any older resourceVersion gets 410 Expired,
        as do continue tokens from before. Returns the current resourceVersion."""
        return self._call(self._server.store.compact)

    def fail_next_watches(self, n: int = 1, status: int = 410, kind: str | None = None) -> None:
        """The next ``n`` watch requests (of ``kind``, if given) fail: 410 as an ERROR event in a
        200 stream (what the apiserver does), any other code as an HTTP error with a Status."""
        plural = self._find(kind).plural if kind else None
        self._call(lambda: self._server.faults.watch_failures.extend([(plural, status)] * n))

    def fail_next_requests(self, n: int = 1, status: int = 500, verb: str | None = None) -> None:
        """The next ``n`` requests (of ``verb``, e.g. "list", if given) answer ``status``."""
        self._call(lambda: self._server.faults.request_failures.extend([(verb, status)] * n))

    def forbid(self, kind: str, verbs: tuple[str, ...] = ("get", "list", "watch")) -> None:
        """Answer ``verbs`` on this resource (every served version, any namespace) with 403
        Forbidden, as the apiserver does when RBAC grants the client nothing on it."""
        res = self._find(kind)
        self._call(lambda: self._server.faults.forbidden.update({res.qualified: frozenset(verbs)}))

    def allow(self, kind: str) -> None:
        """Undo :meth:`forbid` (RBAC granted): the next request goes through."""
        res = self._find(kind)
        self._call(lambda: self._server.faults.forbidden.pop(res.qualified, None))

    def set_unavailable(self, value: bool | float, *, refuse: bool = False) -> None:
        """True: down until ``set_unavailable(False)``; a number: down for that many seconds.
        Down means 503 for every request (or, with ``refuse``, connections refused/reset);
        open watches are broken either way."""
        seconds = (math.inf if value else 0.0) if isinstance(value, bool) else float(value)
        self._call_async(self._server.set_unavailable(seconds, refuse=refuse))

    # -- observation -------------------------------------------------------------------

    @property
    def resource_version(self) -> int:
        return self._call(lambda: self._server.store.resource_version)

    @property
    def open_watches(self) -> int:
        return self._call(lambda: len(self._server.open_watches))

    @property
    def events_sent(self) -> int:
        """Watch events written to clients so far, bookmarks and errors included."""
        return sum(self.events_sent_by_type.values())

    @property
    def events_sent_by_type(self) -> Counter[str]:
        return self._call(lambda: Counter(self._server.stats.events_sent))

    @property
    def requests(self) -> Counter[tuple[str, str]]:
        """Requests so far by (verb, path); verb is get/list/watch/create/update/patch/delete."""
        return self._call(lambda: Counter(self._server.stats.requests))

    @property
    def request_log(self) -> list[RequestRecord]:
        """Completed requests with their status, in completion order (a watch: when it ends)."""
        return self._call(lambda: list(self._server.stats.log))

    def request_count(self, verb: str | None = None, path: str | None = None) -> int:
        """How many requests matched ``verb`` and started with ``path`` (None: any)."""
        return sum(
            n
            for (v, p), n in self.requests.items()
            if (verb is None or v == verb) and (path is None or p.startswith(path))
        )

    def wait_for(self, predicate: Callable[[FakeKube], bool], timeout: float = 5.0) -> None:
        """Poll ``predicate(self)`` until true; TimeoutError after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met within {timeout} s")
            time.sleep(0.02)

    def wait_for_watches(self, n: int = 1, timeout: float = 5.0) -> None:
        """Wait until at least ``n`` watches are open (e.g. the daemon under test is watching)."""
        self.wait_for(lambda fk: fk.open_watches >= n, timeout)
