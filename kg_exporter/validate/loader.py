"""A JSON-LD document loader that never fetches.

Documents must carry their ``@context`` inline: the Metadata Service and Oxigraph refuse to fetch
remote contexts, and a validator that fetched one would pass documents those stores reject (and
would make the tests depend on the network). Every URL pyld asks for is refused with
:class:`RemoteDocumentRefused`.
"""

from __future__ import annotations

from typing import Any, NoReturn

from kg_exporter.errors import ValidationFailed


class RemoteDocumentRefused(ValidationFailed):
    """A document referenced a remote JSON-LD document (usually a remote ``@context``)."""

    def __init__(self, url: str) -> None:
        super().__init__(
            f"remote JSON-LD document {url!r} refused: documents must carry their @context "
            "inline (validation never fetches anything)"
        )
        self.url = url


def refusing_loader(url: str, options: dict[str, Any] | None = None) -> NoReturn:
    """pyld ``documentLoader`` refusing every URL, whatever its scheme (http, https, file...)."""
    raise RemoteDocumentRefused(url)
