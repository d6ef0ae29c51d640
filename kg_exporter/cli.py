"""Command line: arguments → settings → the function that does the work. No logic lives here.

Exit codes are shared by every command: 0 done, 1 done but something failed (listed on stderr),
2 usage, settings or connection error (nothing was done).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from kg_exporter.errors import KgExporterError, SettingsError
from kg_exporter.settings import Settings, load_settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _settings(args: argparse.Namespace) -> Settings:
    config: Path | None = getattr(args, "config", None)
    return load_settings(config)


def _cmd_render(args: argparse.Namespace) -> int:
    from kg_exporter.commands.render import render_command

    return render_command(args.paths, _settings(args), fmt=args.format, out=sys.stdout)


def _cmd_run(args: argparse.Namespace) -> int:
    from kg_exporter.commands.run import run_command

    return run_command(_settings(args), kubeconfig=args.kubeconfig)


def _cmd_backfill(args: argparse.Namespace) -> int:
    from kg_exporter.commands.backfill import BackfillArgs, backfill_command

    options = BackfillArgs(
        manifests=args.manifests,
        kubeconfig=args.kubeconfig,
        sink=args.sink,
        store=args.store,
        concurrency=args.concurrency,
        batch=args.batch,
        dry_run=args.dry_run,
        out=args.out,
        prune=args.prune,
    )
    return backfill_command(options, _settings(args))


def _cmd_rbac(args: argparse.Namespace) -> int:
    from kg_exporter.commands.rbac import rbac_command
    from kg_exporter.kinds import registry_for

    # The configured kinds: bundled ones plus the settings' own (a wrong file is an error here too).
    kinds = registry_for(_settings(args))
    return rbac_command(kinds.specs(), sys.stdout, name=args.name)


def _cmd_metadata_service(args: argparse.Namespace) -> int:
    from kg_exporter.service.command import run

    return run(args)


def _cmd_validate(args: argparse.Namespace) -> int:
    from kg_exporter.validate import validate_files

    return validate_files(args.files)


def _add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="YAML settings file (KG_EXPORTER_* environment variables override it)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kg-exporter",
        description="Keep a knowledge graph of Kubernetes workloads and their telemetry sources "
        "up to date in a Metadata Service.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    render = commands.add_parser(
        "render",
        help="render the subgraphs of manifest files offline and print them",
        description="Read manifests (multi-document YAML, JSON, `kubectl get -o json` Lists; "
        "files or directories) and print every subgraph they yield.",
    )
    render.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    render.add_argument(
        "--format",
        choices=("jsonld", "turtle", "nquads"),
        default="jsonld",
        help='jsonld: {"subgraphs": [{id, kind, document}]}; turtle: one block per subgraph; '
        "nquads: one named graph per subgraph (default: jsonld)",
    )
    _add_config(render)
    render.set_defaults(handler=_cmd_render)

    validate = commands.add_parser(
        "validate",
        help="check JSON-LD documents against the SHACL shapes",
        description="Check JSON-LD files (one document, an array of documents, or the output of "
        "`render`) against the shapes; exit 1 when any fails.",
    )
    validate.add_argument("files", nargs="+", type=Path, metavar="FILE")
    validate.set_defaults(handler=_cmd_validate)

    run = commands.add_parser(
        "run",
        help="watch the cluster and keep the Metadata Service up to date (the daemon)",
        description="List and watch Deployments, StatefulSets, Jobs and Nodes; write workload and "
        "telemetry subgraphs when a workload starts or stops, node subgraphs when nodes join or "
        "leave. Serves /metrics, /healthz, /readyz; SIGTERM drains the queue and exits 0.",
    )
    run.add_argument(
        "--kubeconfig",
        type=Path,
        metavar="FILE",
        help="kubeconfig file (default: in-cluster credentials in a pod, else $KUBECONFIG or "
        "~/.kube/config)",
    )
    _add_config(run)
    run.set_defaults(handler=_cmd_run)

    backfill = commands.add_parser(
        "backfill",
        help="export every workload and node that exists now, then exit",
        description="Write the subgraphs of every Deployment, StatefulSet, Job and Node that "
        "exists now (in the cluster, or in manifest files), plus the glaciation node, then show "
        "what the graph holds. Without --sink, into the embedded store ./kg-store. Exit 0 when "
        "everything was written, 1 when something failed, 2 on usage or connection errors.",
    )
    source = backfill.add_mutually_exclusive_group()
    source.add_argument(
        "--kubeconfig",
        type=Path,
        metavar="FILE",
        help="list the cluster of this kubeconfig (default: in-cluster credentials in a pod, "
        "else $KUBECONFIG or ~/.kube/config)",
    )
    source.add_argument(
        "--manifests",
        nargs="+",
        type=Path,
        metavar="PATH",
        help="read objects from manifest files or directories instead of a cluster",
    )
    target = backfill.add_mutually_exclusive_group()
    target.add_argument(
        "--sink", metavar="URL", help="the Metadata Service to write to (sink.kind says its API)"
    )
    target.add_argument(
        "--store",
        type=Path,
        metavar="DIR",
        help="embedded on-disk store to write to, served later by "
        "`python -m kg_exporter.service --store DIR` (default: ./kg-store)",
    )
    backfill.add_argument(
        "--concurrency",
        type=int,
        default=16,
        metavar="N",
        help="writes in flight at once (default: %(default)s)",
    )
    backfill.add_argument(
        "--batch",
        type=int,
        default=256,
        metavar="N",
        help="with --sink: subgraphs per request to a sink that takes batches "
        "(POST /subgraph: the reference service; a Graph Store's SPARQL Update), 1 for one PUT "
        "each (default: %(default)s)",
    )
    backfill.add_argument(
        "--dry-run", action="store_true", help="write the documents as files (needs --out)"
    )
    backfill.add_argument(
        "--out", type=Path, metavar="DIR", help="directory for --dry-run: one <id>.jsonld each"
    )
    backfill.add_argument(
        "--prune",
        action="store_true",
        help="mark as stopped the workloads and nodes the sink holds as running that no longer "
        "exist",
    )
    _add_config(backfill)
    backfill.set_defaults(handler=_cmd_backfill)

    rbac = commands.add_parser(
        "rbac",
        help="print the ClusterRole the daemon needs for the configured kinds",
        description="Print, as YAML for `kubectl apply -f -`, a ClusterRole granting get, list "
        "and watch on every configured workload kind (the bundled ones and those of the "
        "settings file) and on nodes.",
    )
    rbac.add_argument(
        "--name",
        default="kg-exporter",
        help="metadata.name of the ClusterRole (default: %(default)s)",
    )
    _add_config(rbac)
    rbac.set_defaults(handler=_cmd_rbac)

    from kg_exporter.service.command import add_arguments as add_service_arguments

    service = commands.add_parser(
        "metadata-service",
        help="serve the reference Metadata Service (/subgraph API on an embedded Oxigraph store)",
        description="Serve /subgraph, /sparql, /metrics and /healthz from the on-disk store DIR; "
        "prints 'listening on http://HOST:PORT' (https:// with --tls-cert) when ready; SIGTERM "
        "exits 0.",
    )
    add_service_arguments(service)
    service.set_defaults(handler=_cmd_metadata_service)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.handler(args)
    except SettingsError as exc:
        print(f"kg-exporter: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KgExporterError as exc:
        print(f"kg-exporter: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`| head`): not an error of ours; keep Python quiet at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    return code


if __name__ == "__main__":
    sys.exit(main())
