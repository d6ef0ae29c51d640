"""End to end, one ``kg-exporter run`` for the module: kinds resolved through API discovery.

The daemon starts with Jobs refused (403): it is ready anyway, logs one error naming the missing
rule, exports the other kinds, and exports Jobs once they are allowed — no restart.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.daemon.conftest import BOOKMARK_INTERVAL
from tests.daemon.objects import JOB_STARTED, deployment, job
from tests.e2e.conftest import FAKE_TOKEN
from tests.e2e.stack import Daemon, MetadataService, eventually
from tests.fakekube import FakeKube

INTERVAL = 0.5  # daemon.discovery_interval_seconds


@dataclass
class Stack:
    fake: FakeKube
    ms: MetadataService
    daemon: Daemon

    def lines(self, pattern: str) -> list[str]:
        return [line for line in self.daemon.log_text().splitlines() if re.search(pattern, line)]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    work: Path = tmp_path_factory.mktemp("discovery")
    with FakeKube(bookmark_interval=BOOKMARK_INTERVAL) as fake:
        fake.forbid("jobs")
        fake.create(deployment("web"))
        fake.patch_status("Deployment", "default", "web", {"availableReplicas": 1})
        ms = MetadataService(work / "store", work / "metadata-service.log")
        ms.start()
        try:
            daemon = Daemon(fake.kubeconfig_path, ms.url, work, discovery_interval_seconds=INTERVAL)
            daemon.start()  # returns once /readyz answers 200
            try:
                yield Stack(fake, ms, daemon)
            finally:
                assert daemon.stop() == 0
                assert FAKE_TOKEN not in daemon.log_text()
        finally:
            ms.stop()


def test_a_forbidden_kind_is_one_error_the_others_work_and_it_is_picked_up_once_allowed(
    stack: Stack,
) -> None:
    fake, ms, daemon = stack.fake, stack.ms, stack.daemon
    assert daemon.readyz() == 200
    eventually(lambda: ms.phase("cluster1:workload:deployment:default:web") == "running")
    assert daemon.metric("kg_exporter_kind_forbidden", kind="Job") == 1
    assert daemon.metric("kg_exporter_kind_forbidden", kind="Deployment") == 0
    fake.create(job("batch"))
    fake.patch_status("Job", "default", "batch", JOB_STARTED)
    tries = fake.request_count("list", "/apis/batch/v1/jobs")
    eventually(lambda: fake.request_count("list", "/apis/batch/v1/jobs") >= tries + 2)
    errors = stack.lines(r"cannot read jobs")
    assert len(errors) == 1, errors
    assert "ERROR" in errors[0]
    assert (
        'apiGroups: ["batch"], resources: ["jobs"], verbs: ["get", "list", "watch"]' in (errors[0])
    )
    assert ms.phase("cluster1:workload:job:default:batch") is None

    fake.allow("jobs")
    eventually(lambda: ms.phase("cluster1:workload:job:default:batch") == "running")
    assert daemon.metric("kg_exporter_kind_forbidden", kind="Job") == 0
    assert len(stack.lines(r"jobs can be read now")) == 1
    assert len(stack.lines(r"cannot read jobs")) == 1
