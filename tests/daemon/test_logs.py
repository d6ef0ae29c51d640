"""Logs are structured and never carry a credential."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from kg_exporter.runtime.logs import REDACTED, configure_logging, redact


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


@pytest.mark.parametrize(
    "text",
    [
        "Authorization: Bearer eyJhbGciOi.secret",
        "headers={'authorization': 'Bearer eyJhbGciOi.secret'}",
        '{"Authorization": "eyJhbGciOi.secret"}',
        "token=eyJhbGciOi.secret&x=1",
        "bearer eyJhbGciOi.secret",
    ],
)
def test_redact(text: str) -> None:
    out = redact(text)
    assert "eyJhbGciOi.secret" not in out and REDACTED in out


def test_text_logs_are_redacted_one_line_each(restore_logging: None) -> None:
    stream = io.StringIO()
    configure_logging("text", "INFO", stream)
    log = logging.getLogger("kg_exporter.test")
    log.info("sent %s", "Authorization: Bearer s3cret-token")
    try:
        raise RuntimeError("request failed with headers {'Authorization': 'Bearer s3cret-token'}")
    except RuntimeError:
        log.exception("boom")
    text = stream.getvalue()
    assert "s3cret-token" not in text
    first = text.splitlines()[0]
    assert first.endswith("INFO kg_exporter.test sent Authorization: Bearer <redacted>")
    assert "RuntimeError" in text


def test_json_logs(restore_logging: None) -> None:
    stream = io.StringIO()
    configure_logging("json", "DEBUG", stream)
    logging.getLogger("kg_exporter.watch").warning("will retry %s in %.1f s", "k", 2.0)
    logging.getLogger("kubernetes_asyncio.client.rest").debug("response body: token=abc")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1  # the client's debug chatter is held back
    entry = json.loads(lines[0])
    assert entry["level"] == "WARNING" and entry["logger"] == "kg_exporter.watch"
    assert entry["message"] == "will retry k in 2.0 s"
    assert entry["time"].endswith("Z")
