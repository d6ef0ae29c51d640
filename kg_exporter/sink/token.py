"""A bearer token kept in a file, re-read when the file changes.

A file rather than a setting so the token never sits in a config map or the environment, and
re-read so a rotated Secret (kubelet swaps a symlink) takes effect without a restart. The check is
one ``stat`` per use, cheap next to a network round trip. The token is never logged or put in an
exception message.
"""

from __future__ import annotations

import hmac
import logging
import os
import threading
from pathlib import Path

from kg_exporter.errors import SettingsError

log = logging.getLogger(__name__)


class TokenFile:
    """The current content (stripped) of a token file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._token = ""
        #: Why the file could not be read last time, or "" (so the warning is logged once per
        #: outage, not once per request).
        self._problem = ""
        try:
            self._reload(os.stat(path))
        except OSError as exc:
            raise SettingsError(f"cannot read token file {path}: {exc.strerror}") from exc
        except UnicodeDecodeError:
            raise SettingsError(f"token file {path} is not UTF-8 text") from None
        if not self._token:
            raise SettingsError(f"token file {path} is empty")

    def current(self) -> str:
        """The token as the file holds it now; the last good one while the file is unreadable or
        empty (a rotation in progress), so a brief gap never turns into failed requests."""
        try:
            stat = os.stat(self.path)
        except OSError as exc:
            self._unreadable(exc.strerror or str(exc))
            return self._token
        if (stat.st_mtime_ns, stat.st_size, stat.st_ino) != self._stamp:
            with self._lock:
                try:
                    self._reload(stat)
                except OSError as exc:
                    self._unreadable(exc.strerror or str(exc))
                    return self._token
                except UnicodeDecodeError:
                    self._unreadable("not UTF-8 text")
                    return self._token
        if self._problem:
            log.info("token file %s readable again", self.path)
            self._problem = ""
        return self._token

    def matches(self, presented: str) -> bool:
        """Whether ``presented`` is the current token, in time independent of where they differ.

        A header holding bytes that are not UTF-8 reaches here with lone surrogates (aiohttp
        decodes with ``surrogateescape``): encoded back as they came, it simply does not match.
        """
        given = presented.encode("utf-8", "surrogatepass")
        return hmac.compare_digest(given, self.current().encode("utf-8"))

    def _unreadable(self, problem: str) -> None:
        if problem != self._problem:
            log.warning(
                "token file %s unreadable (%s); keeping the previous token", self.path, problem
            )
            self._problem = problem

    def _reload(self, stat: os.stat_result) -> None:
        token = self.path.read_text(encoding="utf-8").strip()
        stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        if token:
            if self._stamp is not None and token != self._token:
                log.info("token file %s changed; using the new token", self.path)
            self._token = token
        else:
            log.warning("token file %s is empty; keeping the previous token", self.path)
        self._stamp = stamp
