"""The exceptions each boundary raises.

Every error the package raises on purpose derives from :class:`KgExporterError`, so a caller can catch
one type. Each boundary has its own branch, and wraps what it caught with ``raise ... from``::

    KgExporterError
    ├── SettingsError            a setting is missing, mistyped or out of range (names the field)
    ├── ManifestError            a manifest file cannot be read or parsed (names the file and line)
    ├── RenderError              a template is missing, broken, or produced something that is not JSON-LD
    ├── ValidationFailed         a rendered document does not conform to the SHACL shapes
    │   ├── RemoteDocumentRefused    it names a remote @context (validate/loader.py)
    │   └── DocumentRejected         it is not readable offline as RDF (validate/graph.py)
    ├── TelemetryParseError      a telemetry subgraph lacks what a reader needs (library read side)
    ├── SinkError                the Metadata Service (or another sink) could not take or give a subgraph
    │   ├── SinkUnavailable      connection error, timeout, 5xx, 408, 429: retried, then raised
    │   └── SinkRejected         any other 4xx: raised at once; carries the server's message
    ├── PrometheusError          Prometheus unreachable or answering an error (library read side)
    ├── WatchError               the Kubernetes API cannot be listed or watched
    │   └── ApiStatusError       the API answered a Status error (watch/stream.py)
    │       └── Expired          410 Gone: the caller relists
    ├── LeaseConflict            someone else wrote the Lease first (leader/record.py)
    ├── LeaseApiError            the Lease cannot be read or written (leader/record.py)
    └── LeadershipLost           the lease was lost while leading (leader/elector.py)
"""

from __future__ import annotations


class KgExporterError(Exception):
    """Base of every error kg-exporter raises on purpose."""


class SettingsError(KgExporterError):
    """A setting is wrong; the message names the field and the source it came from."""


class ManifestError(KgExporterError):
    """A manifest cannot be read; the message names the file (and line when known)."""


class RenderError(KgExporterError):
    """A subgraph could not be rendered."""


class ValidationFailed(KgExporterError):
    """A rendered document does not conform to the shapes."""


class TelemetryParseError(KgExporterError):
    """A telemetry subgraph does not say what a reader needs."""


class SinkError(KgExporterError):
    """The sink could not complete a request."""


class SinkUnavailable(SinkError):
    """The sink is down, slow or overloaded; worth retrying later."""


class SinkRejected(SinkError):
    """The sink refused the request (4xx other than 408/429). The sink client does not repeat the
    request; the daemon's queue retries the key later, with a long backoff (queue/workers.py)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


class PrometheusError(KgExporterError):
    """Prometheus is unreachable or answered an error.

    ``status`` is the HTTP status of the answer (None when there was none: unreachable, timed
    out) and ``error_type`` Prometheus's own ``errorType`` (``bad_data``, ``timeout``,
    ``execution``, ...) when it gave one, so a caller can tell a bad query (fix it) from an
    overloaded or absent server (try later) without parsing the message.
    """

    def __init__(
        self, message: str, *, status: int | None = None, error_type: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type


class WatchError(KgExporterError):
    """The Kubernetes API cannot be listed or watched."""
