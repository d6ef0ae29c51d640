"""The Kubernetes API client: from a kubeconfig file, or the pod's service account.

In a pod, :func:`kubernetes_asyncio.config.load_incluster_config` installs a hook that re-reads the
service-account token file at most once a minute before a request, so a rotated (bound, projected)
token is picked up without a restart; the watch loop's reconnects carry the new token.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from kubernetes_asyncio import config
from kubernetes_asyncio.client import ApiClient, Configuration
from kubernetes_asyncio.config.config_exception import ConfigException

from kg_exporter.errors import WatchError

SERVICE_HOST_ENV = "KUBERNETES_SERVICE_HOST"


def in_cluster(environ: Mapping[str, str] = os.environ) -> bool:
    return bool(environ.get(SERVICE_HOST_ENV))


async def open_api_client(
    kubeconfig: Path | None = None,
    *,
    environ: Mapping[str, str] = os.environ,
    pool_size: int = 100,
    token_file: str | None = None,
    ca_file: str | None = None,
) -> ApiClient:
    """An API client: ``kubeconfig`` when given, else in-cluster credentials when running in a
    pod, else the default kubeconfig (``$KUBECONFIG`` or ``~/.kube/config``).

    ``pool_size`` bounds open connections (every watch holds one). ``token_file``/``ca_file``
    override the service-account paths (tests). Raises :class:`WatchError` when no credentials
    can be loaded; the message never includes a token.
    """
    configuration = Configuration()
    try:
        if kubeconfig is None and in_cluster(environ):
            kwargs = {}
            if token_file is not None:
                kwargs["token_filename"] = token_file
            if ca_file is not None:
                kwargs["cert_filename"] = ca_file
            config.load_incluster_config(  # type: ignore[no-untyped-call]
                client_configuration=configuration,
                try_refresh_token=True,
                environ=dict(environ),
                **kwargs,
            )
        else:
            await config.load_kube_config(
                config_file=str(kubeconfig) if kubeconfig is not None else None,
                client_configuration=configuration,
                persist_config=False,
            )
    except (ConfigException, OSError) as exc:
        where = str(kubeconfig) if kubeconfig is not None else "the environment"
        raise WatchError(f"cannot load Kubernetes credentials from {where}: {exc}") from exc
    configuration.connection_pool_maxsize = pool_size
    return ApiClient(configuration=configuration)
