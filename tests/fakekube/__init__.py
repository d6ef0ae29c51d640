"""A faithful fake Kubernetes API server for end-to-end tests (see README.md)."""

from .control import FakeKube
from .errors import KubeError
from .state import RequestRecord

__all__ = ["FakeKube", "KubeError", "RequestRecord"]
