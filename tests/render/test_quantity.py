from __future__ import annotations

from decimal import Decimal

import orjson
import pytest

from kg_exporter.render.batch import render_objects
from kg_exporter.render.quantity import as_json_number, parse_quantity
from kg_exporter.render.renderer import Renderer, Subgraph
from kg_exporter.render.serialize import compact_json
from kg_exporter.settings import load_settings
from kg_exporter.validate import assert_valid


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("250m", Decimal("0.25")), ("2", Decimal(2)), ("1Ki", Decimal(1024)), ("128Mi", Decimal(128 * 2**20)),
        ("1G", Decimal(10**9)), ("1e3", Decimal(1000)), ("1.5Gi", Decimal("1.5") * 2**30), (".5", Decimal("0.5")),
        (3, Decimal(3)), ("100n", Decimal("1e-7")),
        ("lots", None), ("", None), (True, None), (None, None), ("1Zi", None), ("9" * 100, None),
    ],
)  # fmt: skip
def test_parse_quantity(text: object, value: Decimal | None) -> None:
    assert parse_quantity(text) == value


def test_json_numbers_are_exact_when_whole() -> None:
    assert as_json_number(Decimal("1073741824")) == 1073741824
    assert isinstance(as_json_number(Decimal("2.000")), int)
    assert as_json_number(Decimal("0.25")) == 0.25


@pytest.mark.parametrize(
    ("text", "value"),
    [
        # "E" and "Ei" were read as an exponent: int("i") raised out of every render of the object.
        ("1Ei", Decimal(2**60)), ("1E", Decimal(10**18)), ("2e2", Decimal(200)), ("2E2", Decimal(200)),
        # Not finite, or past anything measured (and past a float: JSON would get null).
        ("1e999", None), ("-1e999", None), (float("inf"), None), (float("nan"), None), ("NaN", None),
        ("Infinity", None), (10**400, None),
    ],
)  # fmt: skip
def test_hostile_quantities_are_values_or_none_never_errors(text: object, value: Decimal | None) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["8Ei", "9999999999999999999999Ei", "1e300", 2**80, "-16Ei"])
def test_json_numbers_past_64_bits_are_floats_the_sinks_can_encode(text: object) -> None:
    amount = parse_quantity(text)
    assert amount is not None
    number = as_json_number(amount)
    assert orjson.loads(orjson.dumps({"v": number}))["v"] == pytest.approx(float(amount))


def test_a_deployment_asking_for_exbibytes_renders_a_valid_document() -> None:
    obj = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "ns", "uid": "u1"},
        "spec": {"replicas": 1, "template": {"spec": {"containers": [
            {"name": "c", "image": "nginx",
             "resources": {"limits": {"memory": "1Ei", "cpu": "1e999", "x": "16Ei"}}},
        ]}}},
        "status": {"availableReplicas": 1},
    }  # fmt: skip
    rendered = [r for r in render_objects([(obj, "x")], Renderer(load_settings())) if isinstance(r, Subgraph)]
    assert "cluster1:workload:deployment:ns:web" in {s.id for s in rendered}
    for subgraph in rendered:
        assert_valid(orjson.loads(compact_json(subgraph.document)))
