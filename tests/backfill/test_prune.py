"""``--prune``: what the sink holds as running but no longer exists is written as stopped, once;
nothing is pruned when some input could not be read."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from kg_exporter.state.documents import stored_lifecycle
from kg_exporter.state.lifecycle import Phase
from tests.backfill.conftest import RunBackfill, canonical, stored
from tests.conftest import EXAMPLES

WEB = "cluster1:workload:deployment:shop:web"
STAGING_WEB = "cluster1:workload:deployment:staging:web"  # scaled to 0: already stopped
WORKER_2 = "cluster1:node:worker-2"


def copy_examples(target: Path, *, without: set[tuple[str, str | None, str]]) -> Path:
    """The example manifests minus the objects ``(kind, namespace, name)`` in ``without``."""
    target.mkdir()
    for source in sorted(EXAMPLES.rglob("*.yaml")):
        kept = []
        for document in yaml.safe_load_all(source.read_text()):
            if document is None:
                continue
            if document.get("kind") == "List":
                document["items"] = [i for i in document["items"] if _key(i) not in without]
            elif _key(document) in without:
                continue
            kept.append(document)
        copy = target / source.relative_to(EXAMPLES)
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_text(yaml.safe_dump_all(kept))
    return target


def _key(obj: dict) -> tuple[str, str | None, str]:  # type: ignore[type-arg]
    meta = obj.get("metadata", {})
    return (obj.get("kind", ""), meta.get("namespace"), meta.get("name", ""))


def phase(store: Path, subgraph_id: str) -> tuple[Phase, str | None]:
    lifecycle = stored_lifecycle(stored(store)[subgraph_id])
    assert lifecycle is not None
    return lifecycle.phase, lifecycle.ended_at


def test_prune_stops_what_no_longer_exists_and_only_that(
    run_backfill: RunBackfill, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    assert run_backfill("--manifests", str(EXAMPLES), "--store", str(store)).code == 0
    before = stored(store)
    assert phase(store, WEB) == (Phase.RUNNING, None)
    assert phase(store, STAGING_WEB)[0] is Phase.STOPPED
    smaller = copy_examples(
        tmp_path / "now",
        without={
            ("Deployment", "shop", "web"),
            ("Deployment", "staging", "web"),
            ("Node", None, "worker-2"),
        },
    )
    run = run_backfill("--manifests", str(smaller), "--store", str(store), "--prune")
    assert run.code == 0, run.err
    assert f"pruned: 2 no longer existing, now marked stopped:\n  {WORKER_2}\n  {WEB}\n" in run.out
    after = stored(store)
    web_phase, ended_at = phase(store, WEB)
    assert web_phase is Phase.STOPPED
    # Written with milliseconds; read back in the store's canonical xsd:dateTime form, which drops
    # trailing zeros of the fraction ("…31.970Z" is "…31.97Z").
    assert ended_at is not None and re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z", ended_at
    )
    assert phase(store, WORKER_2)[0] is Phase.STOPPED
    ready = [line for line in canonical(after[WORKER_2]) if "vocab#ready>" in line]
    assert ready == [
        "<https://kg-exporter.example.org/cluster1/node/worker-2> "
        "<https://w3id.org/kg-exporter/vocab#ready> "
        '"false"^^<http://www.w3.org/2001/XMLSchema#boolean> .'
    ]
    # Already stopped: left exactly as it was. The telemetry of what stopped is kept (history).
    assert after[STAGING_WEB] == before[STAGING_WEB]
    assert (
        after["cluster1:workload-telemetry:deployment:shop:web"]
        == before["cluster1:workload-telemetry:deployment:shop:web"]
    )
    # Everything still there is untouched and still running.
    assert phase(store, "cluster1:workload:deployment:shop:api")[0] is Phase.RUNNING
    # The glaciation node now lists the two nodes that are left.
    gnode = str(after["cluster1:glaciation-node:glaciation-node1"])
    assert "node/worker-1" in gnode and "node/worker-2" not in gnode

    again = run_backfill("--manifests", str(smaller), "--store", str(store), "--prune")
    assert again.code == 0
    assert "pruned:" not in again.out  # already stopped: nothing more to do
    assert stored(store)[WEB] == after[WEB]  # and the end time is not moved


def test_nothing_is_pruned_when_some_input_cannot_be_read(
    run_backfill: RunBackfill, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    assert run_backfill("--manifests", str(EXAMPLES), "--store", str(store)).code == 0
    smaller = copy_examples(tmp_path / "now", without={("Deployment", "shop", "web")})
    (smaller / "broken.yaml").write_text("kind: Deployment\nmetadata: {name: [\n")
    run = run_backfill("--manifests", str(smaller), "--store", str(store), "--prune")
    assert run.code == 1
    assert "not pruned: 1 input(s) could not be read; the objects in them may still exist" in (
        run.err
    )
    assert phase(store, WEB) == (Phase.RUNNING, None)


def test_dry_run_prunes_its_files(run_backfill: RunBackfill, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_backfill("--manifests", str(EXAMPLES), "--dry-run", "--out", str(out)).code == 0
    smaller = copy_examples(tmp_path / "now", without={("Deployment", "shop", "web")})
    run = run_backfill("--manifests", str(smaller), "--dry-run", "--out", str(out), "--prune")
    assert run.code == 0
    assert f"pruned: 1 no longer existing, now marked stopped:\n  {WEB}\n" in run.out
    assert '"kgx:phase": "stopped"' in (out / f"{WEB}.jsonld").read_text()
