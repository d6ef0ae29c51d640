"""Rendered subgraphs per second on one core: workload + telemetry for the example cluster.

Timed in CPU seconds of this process (so other load on the machine does not count) and single-
threaded: the figure is subgraphs per core-second. Prints the median of
several runs; these machines are noisy.

    python bench/render.py [--runs 7] [--seconds 2] [--examples examples/cluster] [--fresh-rules]

Each render evaluates the object's kind rules (CEL) as the daemon does per event. The lifecycle
rules' results are remembered by their exact input (kg_exporter/kinds/extract.py), and these
examples never change, so after the warm-up every render finds them; ``--fresh-rules`` forgets
them before each render, as for an event whose status fields all changed (the worst case).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kg_exporter.kinds import bundled_registry  # noqa: E402
from kg_exporter.manifests import Manifest, read_manifests  # noqa: E402
from kg_exporter.render.renderer import Renderer  # noqa: E402
from kg_exporter.settings import load_settings  # noqa: E402


def one_run(renderer: Renderer, workloads: list[dict], seconds: float, fresh: bool) -> float:
    remembered = [renderer.kinds[kind].said for kind in renderer.kinds] if fresh else []
    rendered = 0
    start = time.process_time()
    deadline = start + seconds
    while time.process_time() < deadline:
        for obj in workloads:
            for said in remembered:
                said.clear()
            renderer.workload(obj)
            rendered += 2
    return rendered / (time.process_time() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument(
        "--examples",
        type=Path,
        default=ROOT / "examples",
        help="manifests to render (examples/cluster: the Deployments, StatefulSets and Jobs only)",
    )
    parser.add_argument(
        "--fresh-rules",
        action="store_true",
        help="evaluate the lifecycle rules at every render (no remembered results)",
    )
    args = parser.parse_args()
    renderer = Renderer(load_settings())
    workloads = [
        m.obj for m in read_manifests([args.examples])
        if isinstance(m, Manifest) and m.obj.get("kind") in bundled_registry()
    ]  # fmt: skip
    one_run(renderer, workloads, 0.5, args.fresh_rules)  # warm-up: template compilation, caches
    rates = [one_run(renderer, workloads, args.seconds, args.fresh_rules) for _ in range(args.runs)]
    sizes = [len(json.dumps(s.document)) for obj in workloads for s in renderer.workload(obj)]
    print(f"workloads in the example cluster: {len(workloads)} (2 subgraphs each)")
    print(f"mean document size: {statistics.mean(sizes) / 1024:.1f} KiB")
    print("runs (subgraphs/s): " + ", ".join(f"{r:,.0f}" for r in rates))
    print(f"median: {statistics.median(rates):,.0f} subgraphs/s on one core (target >= 5,000)")


if __name__ == "__main__":
    main()
