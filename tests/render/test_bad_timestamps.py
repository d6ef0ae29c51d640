"""Timestamps shaped like RFC 3339 that name no instant ("9999-99-99T99:99:99Z", February 30, hour
24, offset +99:99, a trailing newline) used to be written as xsd:dateTime literals that no reader
accepts; they now read as absent, and the document stays valid."""

from __future__ import annotations

import pytest

from kg_exporter import objects as o
from kg_exporter.render.batch import render_objects
from kg_exporter.render.renderer import Renderer, Subgraph
from kg_exporter.settings import load_settings
from kg_exporter.validate import assert_valid

BAD = [
    "9999-99-99T99:99:99Z", "0000-01-01T00:00:00Z", "2026-02-30T10:00:00Z", "2026-13-01T00:00:00Z",
    "2026-01-01T24:00:00Z", "2026-01-01T00:60:00Z", "2026-01-01T00:00:60Z",
    "2026-01-01T00:00:00+99:99", "2026-01-01T00:00:00-14:01", "2026-01-01T00:00:00+01:60",
    "2026-01-01T00:00:00Z\n",
]  # fmt: skip
GOOD = [
    "2026-01-01T00:00:00Z", "2024-02-29T23:59:59.123456789Z", "2026-01-01T00:00:00+14:00",
    "2026-06-30T12:00:00-05:30", "0001-01-01T00:00:00Z",
]  # fmt: skip


@pytest.mark.parametrize("text", BAD)
def test_no_instant_is_no_timestamp(text: str) -> None:
    assert o.timestamp(text) is None


@pytest.mark.parametrize("text", GOOD)
def test_real_instants_are_timestamps(text: str) -> None:
    assert o.timestamp(text) == text


@pytest.mark.parametrize("text", BAD)
def test_a_job_with_a_bad_time_everywhere_renders_a_valid_document(text: str) -> None:
    job = {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "j", "namespace": "ns", "uid": "u", "creationTimestamp": text},
        "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}},
        "status": {"startTime": text, "completionTime": text, "conditions": [
            {"type": "Complete", "status": "True", "lastTransitionTime": text}]},
    }  # fmt: skip
    renderer = Renderer(load_settings())
    rendered = [r for r in render_objects([(job, "x")], renderer) if isinstance(r, Subgraph)]
    assert rendered
    for subgraph in rendered:
        assert_valid(subgraph.document)
