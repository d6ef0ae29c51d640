"""Objects as the JobSet, metrics, flux and ensemble operators create them (names, labels,
controller ownerReferences and status shapes per the brief's workload-kinds.md), written into
FakeKube the way the controllers would: the owner first, each child owned by the uid the API
server gave it."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from tests.fakekube import FakeKube

Obj = dict[str, Any]

JOBSET_API = "jobset.x-k8s.io/v1alpha2"
FLUX_API = "flux-framework.org/v1alpha2"
ENSEMBLE_API = "ensemble.flux-framework.org/v1alpha1"


def _template(container: str, image: str) -> Obj:
    return {
        "spec": {
            "restartPolicy": "OnFailure",
            "containers": [{"name": container, "image": image}],
        }
    }


def owned_by(owner: Obj) -> list[Obj]:
    meta = owner["metadata"]
    return [
        {
            "apiVersion": owner["apiVersion"],
            "kind": owner["kind"],
            "name": meta["name"],
            "uid": meta["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]


def metadata(name: str, ns: str, owner: Obj | None) -> Obj:
    """An object's metadata; with a controller reference to ``owner`` when given."""
    meta: Obj = {"name": name, "namespace": ns}
    if owner is not None:
        meta["ownerReferences"] = owned_by(owner)
    return meta


def job(name: str, ns: str, owner: Obj, *, labels: dict[str, str] | None = None) -> Obj:
    """A batch Job a controller made (Indexed, as all of these operators make them)."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": ns,
            "labels": {"job-name": name, **(labels or {})},
            "ownerReferences": owned_by(owner),
        },
        "spec": {
            "completionMode": "Indexed",
            "template": _template("main", "busybox:1.36"),
        },
    }


# -- JobSet ------------------------------------------------------------------------------------


def jobset(name: str, ns: str, replicated: dict[str, int], *, owner: Obj | None = None) -> Obj:
    return {
        "apiVersion": JOBSET_API,
        "kind": "JobSet",
        "metadata": metadata(name, ns, owner),
        "spec": {
            "successPolicy": {"operator": "All"},
            "replicatedJobs": [
                {
                    "name": rj,
                    "replicas": replicas,
                    "template": {
                        "spec": {
                            "parallelism": 1,
                            "completions": 1,
                            "completionMode": "Indexed",
                            "template": _template("trainer", "registry.example.org/train:1"),
                        }
                    },
                }
                for rj, replicas in replicated.items()
            ],
        },
    }


def jobset_tree(
    name: str, ns: str, replicated: dict[str, int], *, owner: Obj | None = None
) -> list[Obj]:
    """The JobSet and its child Jobs <jobset>-<replicated job>-<index>."""
    owned = with_uid(jobset(name, ns, replicated, owner=owner))
    tree = [owned]
    for rj, replicas in replicated.items():
        for index in range(replicas):
            labels = {
                "jobset.sigs.k8s.io/jobset-name": name,
                "jobset.sigs.k8s.io/replicatedjob-name": rj,
                "jobset.sigs.k8s.io/job-index": str(index),
            }
            tree.append(with_uid(job(f"{name}-{rj}-{index}", ns, owned, labels=labels)))
    return tree


def jobset_status(replicated: dict[str, int], *, active: bool, v02: bool = False) -> Obj:
    """``replicatedJobsStatus`` with every child active (or none); ``v02``: the JSON key of
    JobSet v0.2.x, ``ReplicatedJobsStatus``."""
    key = "ReplicatedJobsStatus" if v02 else "replicatedJobsStatus"
    return {
        "restarts": 0,
        key: [
            {
                "name": rj,
                "ready": replicas if active else 0,
                "active": replicas if active else 0,
                "succeeded": 0,
                "failed": 0,
                "suspended": 0,
            }
            for rj, replicas in replicated.items()
        ],
    }


def condition(kind: str, status: str, reason: str, when: str) -> Obj:
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": reason,
        "lastTransitionTime": when,
    }


def jobset_finished(replicated: dict[str, int], outcome: str, when: str) -> Obj:
    """After the last child: Completed (AllJobsCompleted) or Failed (FailedJobs), no active."""
    status = jobset_status(replicated, active=False)
    if outcome == "succeeded":
        status["conditions"] = [condition("Completed", "True", "AllJobsCompleted", when)]
        status["terminalState"] = "Completed"
    else:
        status["conditions"] = [condition("Failed", "True", "FailedJobs", when)]
        status["terminalState"] = "Failed"
    return status


def jobset_suspended(replicated: dict[str, int], suspended: bool, when: str) -> Obj:
    """Kueue preempts (Suspended True, SuspendedJobs, pods gone) or resumes (False, ResumeJobs:
    the children active again)."""
    status = jobset_status(replicated, active=not suspended)
    reason = "SuspendedJobs" if suspended else "ResumeJobs"
    status["conditions"] = [condition("Suspended", str(suspended), reason, when)]
    return status


# -- batch Job status --------------------------------------------------------------------------


def job_running(start: str) -> Obj:
    return {"startTime": start, "active": 1, "ready": 1}


def job_finished(outcome: str, start: str, end: str) -> Obj:
    kind = "Complete" if outcome == "succeeded" else "Failed"
    status: Obj = {
        "startTime": start,
        "active": 0,
        "conditions": [{"type": kind, "status": "True", "lastTransitionTime": end}],
    }
    if outcome == "succeeded":
        status["completionTime"] = end
        status["succeeded"] = 1
    else:
        status["failed"] = 1
    return status


# -- MetricSet ---------------------------------------------------------------------------------


def metricset_tree(name: str, ns: str) -> list[Obj]:
    """A MetricSet (its status is always empty) and the JobSet it creates: same name, a launcher
    ``l`` and workers ``w``, with their Jobs."""
    metricset = with_uid(
        {
            "apiVersion": FLUX_API,
            "kind": "MetricSet",
            "metadata": {"name": name, "namespace": ns},
            "spec": {
                "pods": 3,
                "metrics": [{"name": "app-lammps", "options": {"command": "lmp -in in.reaxc"}}],
            },
            "status": {},
        }
    )
    return [metricset, *jobset_tree(name, ns, {"l": 1, "w": 1}, owner=metricset)]


# -- MiniCluster and Ensemble ------------------------------------------------------------------


FLUX_IMAGE = "ghcr.io/flux-framework/flux-restful:latest"


def minicluster(name: str, ns: str, *, owner: Obj | None = None, spec: Obj | None = None) -> Obj:
    return {
        "apiVersion": FLUX_API,
        "kind": "MiniCluster",
        "metadata": metadata(name, ns, owner),
        "spec": copy.deepcopy(spec) or {"size": 2, "containers": [{"image": FLUX_IMAGE}]},
    }


def minicluster_created_status(name: str, when: str) -> Obj:
    """What the operator writes once the Job and services exist: JobMiniClusterReady True, the
    others False (JobRunning and JobFinished are never set True)."""
    types = [
        "JobRequested",
        "JobWaitingForResources",
        "JobMiniClusterReady",
        "JobRunning",
    ]
    return {
        "size": 2,
        "selector": f"hpa-selector={name}",
        "conditions": [
            condition(t, "True" if t == "JobMiniClusterReady" else "False", t, when)
            for t in [*types, "JobFinished"]
        ],
    }


def minicluster_tree(
    name: str, ns: str, *, owner: Obj | None = None, spec: Obj | None = None
) -> list[Obj]:
    """The MiniCluster (with ``spec``, an Ensemble member's) and its Job of the same name."""
    owned = with_uid(minicluster(name, ns, owner=owner, spec=spec))
    return [
        owned,
        with_uid(job(name, ns, owned, labels={"app.kubernetes.io/name": name})),
    ]


def ensemble_tree(name: str, ns: str, members: int) -> list[Obj]:
    """An Ensemble (no status), its gRPC Deployment, and per member i a MiniCluster <ens>-<i>
    with its Job."""
    ensemble = with_uid(
        {
            "apiVersion": ENSEMBLE_API,
            "kind": "Ensemble",
            "metadata": {"name": name, "namespace": ns},
            "spec": {
                "members": [
                    {"minicluster": {"spec": {"size": 2, "containers": [{"image": FLUX_IMAGE}]}}}
                    for _ in range(members)
                ],
                "sidecar": {"image": "ghcr.io/converged-computing/ensemble-operator-api"},
            },
        }
    )
    grpc = with_uid(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": name,
                "namespace": ns,
                "ownerReferences": owned_by(ensemble),
            },
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name, "operator": "ensemble-operator"}},
                    "spec": {"containers": [{"name": "api", "image": "ensemble-api:1"}]},
                },
            },
        }
    )
    tree = [ensemble, grpc]
    for i, member in enumerate(ensemble["spec"]["members"]):
        # The operator creates member i as the MiniCluster <ens>-<i> with the member's spec.
        spec = member["minicluster"]["spec"]
        tree.extend(minicluster_tree(f"{name}-{i}", ns, owner=ensemble, spec=spec))
    return tree


# -- writing a tree ----------------------------------------------------------------------------


def with_uid(obj: Obj) -> Obj:
    """The object with a uid of its own, as the API server gives it on create (a fixed one: the
    same tree renders the same documents offline)."""
    meta = obj["metadata"]
    meta["uid"] = str(
        uuid.uuid5(uuid.NAMESPACE_URL, f"{obj['kind']}/{meta['namespace']}/{meta['name']}")
    )
    return obj


def create_tree(fake: FakeKube, tree: list[Obj]) -> list[Obj]:
    """Create ``tree`` (owners before what they own) as its controllers would: each child's
    controller reference names the uid the API server gave its owner."""
    given: dict[str, str] = {}
    created = []
    for obj in tree:
        obj = copy.deepcopy(obj)
        for ref in obj["metadata"].get("ownerReferences", []):
            ref["uid"] = given[ref["uid"]]
        wanted = obj["metadata"].pop("uid")
        done = fake.create(obj)
        given[wanted] = done["metadata"]["uid"]
        created.append(done)
    return created
