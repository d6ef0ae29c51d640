"""TokenFile under a missing, unreadable or non-UTF-8 file, and presented tokens that are not
UTF-8 (issue 17: a 500 instead of 401, one warning per request)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from kg_exporter.errors import SettingsError
from kg_exporter.sink.token import TokenFile


def test_a_missing_file_is_warned_about_once_not_per_use(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "token"
    path.write_text("first\n")
    token = TokenFile(path)
    path.unlink()
    with caplog.at_level(logging.INFO, logger="kg_exporter.sink.token"):
        for _ in range(100):
            assert token.current() == "first"
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1
        assert "unreadable" in warnings[0].getMessage()
        path.write_text("second\n")
        assert token.current() == "second"
        path.unlink()
        token.current()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2  # once per outage
    assert any("readable again" in r.getMessage() for r in caplog.records)


def test_a_presented_token_that_is_not_utf8_does_not_match(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("s3cret\n")
    token = TokenFile(path)
    # What aiohttp hands over for the header bytes b"s3cret\xff" (surrogateescape).
    assert not token.matches(b"s3cret\xff".decode("utf-8", "surrogateescape"))
    assert not token.matches("\ud800")
    assert token.matches("s3cret")


def test_a_token_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(SettingsError, match="not UTF-8"):
        TokenFile(path)
    path.write_text("good")
    token = TokenFile(path)
    path.write_bytes(b"\xffbad")
    assert token.current() == "good"
