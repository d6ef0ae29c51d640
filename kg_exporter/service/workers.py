"""Worker processes of the reference Metadata Service, driven from its event loop.

A :class:`WorkerPool` keeps up to ``size`` processes of one role (:mod:`kg_exporter.service.worker`),
started on first use (or ahead of it, :meth:`WorkerPool.warm`), and gives each request one of them. What can go wrong in a worker stays
there:

- it takes longer than the time limit: it is killed (SIGKILL; nothing else can stop native code),
  the request gets 422, and a new worker starts when one is next needed;
- it dies on its own (its memory limit reached, a crash in native code): the request gets 422;
- every worker is busy for longer than ``queue_seconds``: 503 with ``Retry-After``.

A request abandoned while its worker runs (the handler cancelled) kills that worker too: the answer
it would send no longer has a reader, and what it computes is of no use to anyone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
import time
from collections.abc import Mapping
from typing import Any

from kg_exporter.service.validation import BadRequest
from kg_exporter.service.worker import HEAD, encode_frame

log = logging.getLogger(__name__)


class WorkerFailed(BadRequest):
    pass


class _Process:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def call(self, frame: bytes) -> tuple[dict[str, Any], bytes]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(frame)
        await self.process.stdin.drain()
        head = await self.process.stdout.readexactly(HEAD.size)
        header_size, payload_size = HEAD.unpack(head)
        header = json.loads(await self.process.stdout.readexactly(header_size))
        payload = await self.process.stdout.readexactly(payload_size)
        if not isinstance(header, dict):
            raise ValueError("a worker answered something other than a frame")
        return header, payload

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()

    async def reap(self) -> int | None:
        with contextlib.suppress(asyncio.TimeoutError):
            return await asyncio.wait_for(self.process.wait(), 5)
        return None


class WorkerPool:
    """Up to ``size`` worker processes of ``role`` (``parse`` or ``query``)."""

    def __init__(
        self,
        role: str,
        *,
        size: int,
        memory_bytes: int,
        init: Mapping[str, Any],
        queue_seconds: float,
    ) -> None:
        self.role = role
        self._memory_bytes = memory_bytes
        self._init = encode_frame(init)
        self._queue_seconds = queue_seconds
        self._idle: asyncio.Queue[_Process | None] = asyncio.Queue()
        for _ in range(size):
            self._idle.put_nowait(None)  # a slot; its process starts when first needed
        self._all: set[_Process] = set()
        self._closed = False
        self._reaping: set[asyncio.Future[int | None]] = set()
        #: Workers killed or lost, for tests and the log.
        self.replaced = 0

    async def call(
        self, header: Mapping[str, Any], payload: bytes, *, seconds: float
    ) -> tuple[dict[str, Any], bytes]:
        """The worker's answer to one request; :class:`WorkerFailed` when it could not give one."""
        try:
            slot = await asyncio.wait_for(self._idle.get(), self._queue_seconds)
        except TimeoutError:
            raise WorkerFailed(
                503, "busy", f"every {self.role} worker stayed busy for {self._queue_seconds} s"
            ) from None
        worker: _Process | None = None
        started = time.monotonic()
        try:
            worker = slot if slot is not None else await self._start()
            answer = await asyncio.wait_for(worker.call(encode_frame(header, payload)), seconds)
        except TimeoutError:
            self._discard(worker)
            raise WorkerFailed(
                422, "took too long", f"stopped after {seconds:g} s, the limit of one request"
            ) from None
        except (asyncio.IncompleteReadError, ConnectionError, ValueError) as exc:
            self._discard(worker)
            code = await worker.reap() if worker is not None else None
            log.warning(
                "a %s worker ended (%s) %.1f s into a request; another starts when needed",
                self.role,
                _how(code),
                time.monotonic() - started,
            )
            raise WorkerFailed(
                422,
                "could not be processed",
                f"the {self.role} worker ended ({_how(code)}): the request needs more memory "
                "than allowed, or more nesting than the parser can take",
            ) from exc
        except BaseException:
            self._discard(worker)  # cancelled mid-request: its answer has no reader any more
            raise
        self._idle.put_nowait(worker)
        return answer

    async def warm(self) -> None:
        """Start the workers not started yet, one slot at a time, so the first requests do not
        wait for a process to start (an interpreter and pyoxigraph: ~1 s of CPU each on a busy
        machine, paid by the first burst after a restart otherwise). A worker that fails to
        start is left for the first request to try again."""
        for _ in range(self._idle.qsize()):
            try:
                slot = self._idle.get_nowait()
            except asyncio.QueueEmpty:
                return
            if slot is None and not self._closed:
                try:
                    slot = await self._start()
                except Exception as exc:
                    log.warning("a %s worker did not start ahead of use: %s", self.role, exc)
            self._idle.put_nowait(slot)

    async def close(self) -> None:
        """Stop every worker (killed: a query may be running, and nothing it does needs saving)."""
        self._closed = True
        for worker in list(self._all):
            worker.kill()
        for worker in list(self._all):
            await worker.reap()
        self._all.clear()

    def pids(self) -> list[int]:
        return [worker.process.pid for worker in self._all]

    async def _start(self) -> _Process:
        if self._closed:
            raise WorkerFailed(503, "stopping", "the service is shutting down")
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "kg_exporter.service.worker",
            self.role,
            str(self._memory_bytes),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=2**20,
        )
        worker = _Process(process)
        self._all.add(worker)
        try:
            header, _ = await asyncio.wait_for(worker.call(self._init), 60)
            if not header.get("ready"):
                raise ValueError(f"a {self.role} worker did not start")
        except BaseException:
            # The caller frees the slot; this one only ends the process.
            self._all.discard(worker)
            worker.kill()
            self._reaping.add(asyncio.ensure_future(worker.reap()))
            raise
        return worker

    def _discard(self, worker: _Process | None) -> None:
        """Kill ``worker`` (if any) and free its slot for a new one."""
        self._idle.put_nowait(None)
        if worker is not None and worker in self._all:
            self.replaced += 1
            self._all.discard(worker)
            worker.kill()
            task = asyncio.ensure_future(worker.reap())
            self._reaping.add(task)
            task.add_done_callback(self._reaping.discard)


def _how(code: int | None) -> str:
    if code is None:
        return "no exit status"
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit status {code}"
