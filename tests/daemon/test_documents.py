"""Reading back stored status, and amending an orphan's stored document to stopped."""

from __future__ import annotations

from kg_exporter.identity import ObjectKey
from kg_exporter.render.facts import Lifecycle
from kg_exporter.render.renderer import Renderer
from kg_exporter.state.documents import described_key, mark_stopped, stored_lifecycle
from kg_exporter.state.lifecycle import Outcome, Phase
from tests.daemon.objects import deployment, job, node

T0, T1 = "2026-11-01T09:00:00Z", "2026-11-01T10:00:00Z"


def test_stored_lifecycle_reads_what_was_rendered(renderer: Renderer) -> None:
    for lifecycle in (
        Lifecycle(Phase.RUNNING, T0),
        Lifecycle(Phase.STOPPED, T0, T1),
        Lifecycle(Phase.STOPPED, T0, T1, Outcome.FAILED),
    ):
        workload, telemetry = renderer.workload(job("j"), lifecycle=lifecycle)
        assert stored_lifecycle(workload.document) == lifecycle
        assert stored_lifecycle(telemetry.document) is None  # telemetry states no status
    assert stored_lifecycle(None) is None
    assert stored_lifecycle({"@graph": [{"@type": "glc:Status", "kgx:phase": "weird"}]}) is None


def test_stored_lifecycle_reads_plain_and_list_literals() -> None:
    document = {
        "@graph": [
            {
                "@type": ["glc:Status"],
                "kgx:phase": ["running"],
                "glc:startTime": T0,
            }
        ]
    }
    assert stored_lifecycle(document) == Lifecycle(Phase.RUNNING, T0)


def test_mark_stopped_amends_only_the_status(renderer: Renderer) -> None:
    workload, _ = renderer.workload(deployment("web"), lifecycle=Lifecycle(Phase.RUNNING, T0))
    stopped = mark_stopped(workload.document, T1)
    assert stopped is not None
    assert stored_lifecycle(stopped) == Lifecycle(Phase.STOPPED, T0, T1)
    assert stored_lifecycle(workload.document) == Lifecycle(Phase.RUNNING, T0)  # not modified
    expected, _ = renderer.workload(deployment("web"), lifecycle=Lifecycle(Phase.STOPPED, T0, T1))
    assert stopped == expected.document, "amending gives what rendering the stop would have given"
    assert mark_stopped(stopped, T1) is None  # already stopped: nothing to do


def test_mark_stopped_on_a_node_makes_it_not_ready(renderer: Renderer) -> None:
    document = renderer.node(node("n1"))[0].document
    stopped = mark_stopped(document, T1)
    assert stopped is not None
    assert all(n.get("kgx:ready", False) is False for n in stopped["@graph"])
    assert stored_lifecycle(stopped) is not None
    assert stored_lifecycle(stopped).phase is Phase.STOPPED  # type: ignore[union-attr]


def test_described_key(renderer: Renderer) -> None:
    workload, _ = renderer.workload(deployment("web", ns="shop"))
    assert described_key(workload.document) == ObjectKey("Deployment", "shop", "web")
    assert described_key(renderer.node(node("n1"))[0].document) == ObjectKey("Node", None, "n1")
    assert described_key({"@graph": []}) is None
