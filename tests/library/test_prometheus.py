"""PrometheusClient against scripted answers: series with labels, long ranges in slices, and a
clear PrometheusError for each way Prometheus can fail. (The real server: test_read_path.py.)"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import httpx
import pytest

from kg_exporter import PrometheusClient, PrometheusError, Sample, Series
from tests.support.processes import free_port

Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler, **kwargs: int) -> PrometheusClient:
    transport = httpx.MockTransport(handler)
    return PrometheusClient(
        "http://prom.test:9090/", client=httpx.AsyncClient(transport=transport), **kwargs
    )


def matrix(*series: tuple[dict[str, str], list[tuple[float, str]]]) -> httpx.Response:
    result = [
        {"metric": labels, "values": [[t, v] for t, v in values]} for labels, values in series
    ]
    return httpx.Response(
        200, json={"status": "success", "data": {"resultType": "matrix", "result": result}}
    )


def form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


async def test_several_series_come_back_apart_with_their_labels() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return matrix(
            ({"pod": "web-1", "__name__": "x"}, [(100, "1"), (160, "2.5")]),
            ({"pod": "web-2"}, [(100, "NaN"), (160, "+Inf")]),
        )

    async with client(handler) as prometheus:
        series = await prometheus.query_range(
            'sum by (pod) (x{ns="a"})', start=100, end=160, step=60
        )
    assert series[0] == Series(
        {"pod": "web-1", "__name__": "x"}, (Sample(100, 1), Sample(160, 2.5))
    )
    assert series[1].labels == {"pod": "web-2"}
    assert math.isnan(series[1].samples[0].value) and series[1].samples[1].value == math.inf
    (request,) = seen
    assert request.method == "POST"
    assert str(request.url) == "http://prom.test:9090/api/v1/query_range"
    assert form(request) == {
        "query": 'sum by (pod) (x{ns="a"})',
        "start": "100.000",
        "end": "160.000",
        "step": "60.000",
    }


async def test_datetimes_and_timedeltas_are_accepted_and_an_aggregate_has_no_labels() -> None:
    seen: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(form(request))
        return matrix(({}, [(1_767_225_600, "42")]))

    end = datetime(2026, 1, 1, tzinfo=UTC)
    async with client(handler) as prometheus:
        (series,) = await prometheus.query_range(
            "sum(up)", start=end - timedelta(minutes=5), end=end, step=timedelta(seconds=15)
        )
    assert series == Series({}, (Sample(1_767_225_600, 42.0),))
    assert seen[0]["start"] == "1767225300.000" and seen[0]["step"] == "15.000"
    with pytest.raises(ValueError, match="naive"):
        await prometheus.query_range("up", start=datetime(2026, 1, 1), end=end, step=1)
    with pytest.raises(ValueError, match="positive"):
        await prometheus.query_range("up", start=0, end=10, step=0)
    with pytest.raises(ValueError, match="before start"):
        await prometheus.query_range("up", start=10, end=0, step=1)


async def test_a_long_range_is_fetched_in_slices_and_joined_per_series() -> None:
    """11 points at most 4 per request: 3 requests on one grid, each series joined in order."""
    slices: list[tuple[float, float]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        params = form(request)
        first, last, step = (float(params[k]) for k in ("start", "end", "step"))
        slices.append((first, last))
        points = [
            (first + i * step, str(first + i * step)) for i in range(int((last - first) / step) + 1)
        ]
        # One series is missing from the middle slice, as when a pod did not exist then.
        series = [({"pod": "a"}, points)]
        if first != 40:
            series.append(({"pod": "b"}, points))
        return matrix(*series)

    async with client(handler, max_points=4) as prometheus:
        series = await prometheus.query_range("x", start=0, end=100, step=10)
    assert slices == [(0, 30), (40, 70), (80, 100)]
    assert [s.labels for s in series] == [{"pod": "a"}, {"pod": "b"}]
    assert [p.timestamp for p in series[0].samples] == [float(t) for t in range(0, 101, 10)]
    assert [p.timestamp for p in series[1].samples] == [0, 10, 20, 30, 80, 90, 100]


def error(status: int, error_type: str, message: str) -> httpx.Response:
    body = {"status": "error", "errorType": error_type, "error": message}
    return httpx.Response(status, json=body)


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (
            error(400, "bad_data", 'parse error: unexpected "}"'),
            r"refused the query \(bad_data\): parse error: unexpected \"}\"; query: x",
        ),
        (
            error(422, "execution", "many-to-many matching not allowed"),
            r"\(execution\): many-to-many",
        ),
        (
            error(503, "unavailable", "too many queries"),
            r"\(unavailable\): too many queries",
        ),
        (
            httpx.Response(502, text="<html>Bad Gateway</html>"),
            r"answered HTTP 502 with a body that is not JSON \('<html>Bad Gateway</html>'\)",
        ),
        (
            httpx.Response(200, text="<html>Grafana login</html>"),
            "answered HTTP 200 with a body that is not JSON",
        ),
        (
            httpx.Response(200, text="[" * 5_000 + "]" * 5_000),  # past Python's parser
            "answered HTTP 200 with a body that is not JSON",
        ),
        (httpx.Response(200, json=[1, 2]), "JSON that is not an API response object"),
        (
            httpx.Response(200, json={"status": "success", "data": {"resultType": "vector"}}),
            "answered a range query with 'vector', not a matrix",
        ),
        (
            httpx.Response(
                200,
                json={
                    "status": "success",
                    "data": {"resultType": "matrix", "result": [{"metric": {}, "values": [[1]]}]},
                },
            ),
            "malformed series",
        ),
    ],
)
async def test_each_failure_is_a_prometheus_error_saying_which(
    response: httpx.Response, message: str
) -> None:
    async with client(lambda request: response) as prometheus:
        with pytest.raises(PrometheusError, match=message):
            await prometheus.query_range("x", start=0, end=60, step=15)


async def test_an_unreachable_prometheus_is_a_prometheus_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    async with PrometheusClient(url, timeout=2) as prometheus:
        with pytest.raises(
            PrometheusError, match=f"Prometheus at {url} is unreachable: Connect"
        ) as e:
            await prometheus.query_range("up", start=0, end=60, step=15)
    assert (e.value.status, e.value.error_type) == (None, None)


@pytest.mark.parametrize(
    ("response", "status", "error_type"),
    [
        (
            httpx.Response(400, json={"status": "error", "errorType": "bad_data", "error": "x"}),
            400,
            "bad_data",
        ),
        (
            httpx.Response(503, json={"status": "error", "errorType": "unavailable"}),
            503,
            "unavailable",
        ),
        (httpx.Response(502, text="bad gateway"), 502, None),
    ],
)
async def test_a_refusal_carries_its_status_and_error_type(
    response: httpx.Response, status: int, error_type: str | None
) -> None:
    """So a caller can tell a query to fix from a server to try again later."""
    async with client(lambda request: response) as prometheus:
        with pytest.raises(PrometheusError) as refused:
            await prometheus.query_range("x", start=0, end=60, step=15)
    assert (refused.value.status, refused.value.error_type) == (status, error_type)


async def test_an_injected_client_is_left_open_and_headers_are_sent() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return matrix()

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    prometheus = PrometheusClient("http://p", client=http, headers={"X-Scope-OrgID": "ml"})
    assert await prometheus.query_range("up", start=0, end=1, step=1) == []
    await prometheus.aclose()
    assert not http.is_closed
    assert seen[0].headers["X-Scope-OrgID"] == "ml"
    await http.aclose()
