"""Malformed HTTP requests are the client's problem, not the server's: one line, not a traceback.

aiohttp answers a request it cannot parse (a header over 8 KB, bytes that are not HTTP) with 400
and logs ``Error handling request`` at ERROR with the parser's traceback, so anyone who can reach a
port can fill the log at will (issue 17). :func:`quiet_bad_requests` installs, once, a filter on
aiohttp's server logger that turns those records into one INFO line naming the problem; errors of
any other kind pass unchanged. Used by the daemon's endpoints and the reference Metadata Service.
"""

from __future__ import annotations

import logging

_LOGGER = "aiohttp.server"


class _BadRequests(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        from aiohttp.http_exceptions import HttpProcessingError

        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg, record.args = (
                "refused a malformed request: %s",
                (str(error.message).splitlines()[0][:200],),
            )
            record.exc_info = record.exc_text = None
        return True


def quiet_bad_requests() -> None:
    logger = logging.getLogger(_LOGGER)
    if not any(isinstance(f, _BadRequests) for f in logger.filters):
        logger.addFilter(_BadRequests())
