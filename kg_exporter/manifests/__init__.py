"""Reading Kubernetes manifests from files and directories."""

from kg_exporter.manifests.reader import Manifest, read_manifests

__all__ = ["Manifest", "read_manifests"]
