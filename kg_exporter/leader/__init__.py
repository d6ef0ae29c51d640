"""Leader election between replicas on a ``coordination.k8s.io/v1`` Lease.

:class:`LeaderElector` needs a :class:`LeaseApi` (the cluster's: :class:`kg_exporter.leader.kube.
KubeLeaseApi`, imported from there so this package stays free of ``kubernetes_asyncio``) and a
:class:`ElectionConfig` (from settings: :func:`election_config`). The daemon builds both with
``kg_exporter.leader.kube.elector_for`` and runs its work through :func:`run_while_leading`.
"""

from kg_exporter.leader.clock import Clock, SystemClock
from kg_exporter.leader.config import ElectionConfig, election_config
from kg_exporter.leader.elector import Attempt, LeaderElector, LeadershipLost
from kg_exporter.leader.guard import EXIT_LEADERSHIP_LOST, run_while_leading
from kg_exporter.leader.metrics import LEADER_METRIC, LeaderGauge, leader_gauge
from kg_exporter.leader.record import LeaseApi, LeaseApiError, LeaseConflict, LeaseRecord

__all__ = [
    "EXIT_LEADERSHIP_LOST",
    "LEADER_METRIC",
    "Attempt",
    "Clock",
    "ElectionConfig",
    "LeaderElector",
    "LeaderGauge",
    "LeadershipLost",
    "LeaseApi",
    "LeaseApiError",
    "LeaseConflict",
    "LeaseRecord",
    "SystemClock",
    "election_config",
    "leader_gauge",
    "run_while_leading",
]
