"""Data a workload uses and produces, as stated by annotations.

- ``kg-exporter.io/data-dependencies``: absolute IRIs (whitespace or comma separated) it uses.
- The ORAS operator's (``oras.converged-computing.github.io/``): ``input-uri`` and every
  ``input-uri_<anything>`` are artifacts pulled before the step (uses), ``output-uri`` the one
  pushed after it (produces). The registry is resolved as the operator does: ``registry`` when set,
  else the in-cluster cache named by ``oras-cache``: ``<cache>-0.<cache>.<ns>.svc.cluster.local:5000``.
  Artifacts become ``oci://<registry>/<repository>:<tag>`` IRIs, stable across writes. Only these
  keys are read: ``oras-env`` names a secret and is never looked at.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote

DATA_ANNOTATION = "kg-exporter.io/data-dependencies"
ORAS = "oras.converged-computing.github.io/"
_UNSET = "NA"
_IRI_FORBIDDEN = re.compile(r'[<>"{}|\\^`\s]')
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$")


def declared_iris(annotations: Mapping[str, str]) -> list[str]:
    """The absolute IRIs of the data-dependencies annotation; anything else is ignored."""
    iris = []
    for token in annotations.get(DATA_ANNOTATION, "").replace(",", " ").split():
        scheme, sep, rest = token.partition(":")
        if sep and scheme.isascii() and scheme[:1].isalpha() and rest and not _IRI_FORBIDDEN.search(token):
            iris.append(token)
    return iris


def _value(annotations: Mapping[str, str], name: str) -> str | None:
    value = annotations.get(ORAS + name, "").strip()
    return value if value and value != _UNSET else None


def oras_registry(annotations: Mapping[str, str], namespace: str) -> str | None:
    registry = _value(annotations, "registry")
    if registry is None:
        cache = _value(annotations, "oras-cache")
        if cache is None:
            return None
        registry = f"{cache}-0.{cache}.{namespace}.svc.cluster.local:5000"
    registry = registry.removeprefix("oci://").removeprefix("https://").removeprefix("http://")
    registry = registry.rstrip("/")
    return registry if _HOST.match(registry) else None


def artifact_iri(registry: str, uri: str) -> str:
    """``oci://<registry>/<repository>:<tag>``, percent-encoding what an IRI may not hold."""
    return f"oci://{registry}/" + quote(uri.strip().lstrip("/"), safe="/:@._-~+")


def oras_data(annotations: Mapping[str, str], namespace: str) -> tuple[list[str], list[str]]:
    """(artifact IRIs used, artifact IRIs produced) by one set of ORAS annotations."""
    registry = oras_registry(annotations, namespace)
    if registry is None:
        return [], []
    inputs = [
        v
        for k, v in sorted(annotations.items())
        if (k == ORAS + "input-uri" or k.startswith(ORAS + "input-uri_"))
        and v.strip()
        and v.strip() != _UNSET
    ]
    output = _value(annotations, "output-uri")
    return (
        [artifact_iri(registry, uri) for uri in inputs],
        [artifact_iri(registry, output)] if output else [],
    )


def data_of(annotation_maps: Iterable[Mapping[str, str]], namespace: str) -> tuple[list[str], list[str]]:
    """(IRIs used, IRIs produced), sorted and without repeats, from every annotation map."""
    uses: set[str] = set()
    produces: set[str] = set()
    for found in annotation_maps:
        if DATA_ANNOTATION not in found and not any(k.startswith(ORAS) for k in found):
            continue  # the common case, and this runs for every event
        uses.update(declared_iris(found))
        used, produced = oras_data(found, namespace)
        uses.update(used)
        produces.update(produced)
    return sorted(uses), sorted(produces)
