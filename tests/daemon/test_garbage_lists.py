"""A listing answer whose ``continue`` token or ``resourceVersion`` is not a string (an API server
never sends one; a broken proxy might): the watch loop fails that listing, logs it and relists
with backoff; it never ends (an exception out of a watch loop ends the daemon), and never resumes
from a resourceVersion made of garbage. And objects that say they are of another kind than their
collection serves."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from kubernetes_asyncio.client import ApiClient

from kg_exporter.watch import open_api_client
from tests.daemon.harness import eventually
from tests.daemon.test_watch import Mirror, Running, watcher
from tests.fakekube.kubeconfig import write_kubeconfig

Answer = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def _serve(deployments: Answer, tmp_path: Path) -> tuple[web.AppRunner, ApiClient]:
    """A server answering the Deployments collection with ``deployments``; a client of it."""
    app = web.Application()
    app.router.add_get("/apis/apps/v1/deployments", deployments)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", f"http://127.0.0.1:{port}", None)
    return runner, await open_api_client(kubeconfig)


NOT_A_STRING = "resourceVersion or continue is not a string"


@pytest.mark.parametrize(
    ("metadata", "said"),
    [
        ({"resourceVersion": "5", "continue": {"token": 1}}, NOT_A_STRING),
        ({"resourceVersion": "5", "continue": ["a"]}, NOT_A_STRING),
        ({"resourceVersion": {"rv": 5}}, NOT_A_STRING),
        ({"resourceVersion": ["5"]}, NOT_A_STRING),
        ({"resourceVersion": "5", "continue": "again"}, "repeated its continue token"),
    ],
)
async def test_a_listing_with_garbage_metadata_is_retried_not_fatal(
    metadata: dict[str, Any], said: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []

    async def deployments(request: web.Request) -> web.Response:
        seen.append(request.query_string)
        if "watch" in request.query:
            return web.json_response({"kind": "Status", "code": 500}, status=500)
        return web.json_response({"kind": "DeploymentList", "metadata": metadata, "items": []})

    runner, client = await _serve(deployments, tmp_path)
    caplog.set_level(logging.WARNING, "kg_exporter.watch")
    try:
        async with Running(w := watcher(client, watcher_mirror := Mirror())):
            await eventually(lambda: len(seen) >= 4)
            assert w.cursor.resource_version is None  # never resumed from garbage
            assert not any("watch" in q for q in seen)
        assert watcher_mirror.objects == {}
        assert said in caplog.text
    finally:
        await client.close()
        await runner.cleanup()
        await asyncio.sleep(0)


async def test_objects_are_of_their_collections_kind_whatever_they_say(tmp_path: Path) -> None:
    """A Deployments answer (listing and watch) holding objects that say they are a Job or a Node:
    read as Deployments, never as a phantom Job or Node."""
    liar = {"kind": "Job", "metadata": {"name": "listed", "namespace": "n", "resourceVersion": "5"}}
    event = {"kind": "Node", "metadata": {"name": "watched", "namespace": "n", "resourceVersion": "6"}}

    async def deployments(request: web.Request) -> web.StreamResponse:
        if "watch" not in request.query:
            return web.json_response(
                {"kind": "DeploymentList", "metadata": {"resourceVersion": "5"}, "items": [liar]}
            )
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(json.dumps({"type": "ADDED", "object": event}).encode() + b"\n")
        await asyncio.sleep(0.5)  # then the stream ends; the watcher resumes
        return response

    runner, client = await _serve(deployments, tmp_path)
    try:
        mirror = Mirror()
        async with Running(watcher(client, mirror)):
            await eventually(lambda: mirror.names() == {"listed", "watched"})
        assert {key[0] for key in mirror.objects} == {"Deployment"}
    finally:
        await client.close()
        await runner.cleanup()
