"""Pulling a metric's history from Prometheus: ``/api/v1/query_range`` as typed series; and the
value of a query at one instant (``/api/v1/query``), as the ``glaciation`` profile samples them.

Prometheus answers at most 11,000 points per series and request, so a longer range is fetched in
consecutive slices, aligned on ``step``, and the slices of each series joined: a caller asks for a
month at 15 s resolution and gets it. Every failure is a :class:`~kg_exporter.errors.PrometheusError`
that says which: unreachable, an HTTP or query error (Prometheus's ``errorType`` and message, e.g.
``bad_data``), or an answer that is not what the API documents.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

import httpx

from kg_exporter.errors import PrometheusError
from kg_exporter.read.model import Metric, Sample, Series

#: Prometheus refuses range queries that would return more points per series than this.
MAX_POINTS_PER_SERIES = 11_000

Instant = datetime | float
Step = timedelta | float


class PrometheusClient:
    """Range queries against one Prometheus (``url`` is its base, e.g. ``http://prom:9090``).

    ``client`` is the caller's pooled ``httpx.AsyncClient`` (its own auth, TLS, proxies); one is
    made, and closed by :meth:`aclose`, when omitted. ``headers`` are sent with every query (a
    bearer token for a Prometheus behind an auth proxy, a tenant header for Thanos/Mimir).
    """

    def __init__(
        self,
        url: str,
        *,
        client: httpx.AsyncClient | None = None,
        timeout: float = 30.0,
        headers: Mapping[str, str] | None = None,
        max_points: int = MAX_POINTS_PER_SERIES,
    ) -> None:
        if max_points < 1:
            raise ValueError("max_points must be at least 1")
        self.url = url.rstrip("/")
        self._client = client if client is not None else httpx.AsyncClient()
        self._owns_client = client is None
        self._timeout = httpx.Timeout(timeout)
        self._headers = dict(headers or {})
        self._max_points = max_points

    async def query_range(
        self, promql: str, *, start: Instant, end: Instant, step: Step
    ) -> list[Series]:
        """Every series ``promql`` yields from ``start`` to ``end`` (inclusive) every ``step``.

        Times are timezone-aware datetimes or Unix seconds; ``step`` a timedelta or seconds.
        Series come in the order Prometheus first returned them, samples in time order.
        """
        first, last, interval = _seconds(start), _seconds(end), _step_seconds(step)
        if last < first:
            raise ValueError(f"end ({last}) is before start ({first})")
        merged: dict[tuple[tuple[str, str], ...], tuple[dict[str, str], list[Sample]]] = {}
        for slice_start, slice_end in _slices(first, last, interval, self._max_points):
            for labels, samples in await self._query_slice(
                promql, slice_start, slice_end, interval
            ):
                key = tuple(sorted(labels.items()))
                merged.setdefault(key, (labels, []))[1].extend(samples)
        return [Series(labels, tuple(samples)) for labels, samples in merged.values()]

    async def query(self, promql: str, *, time: Instant) -> list[Series]:
        """Every series ``promql`` yields at ``time``, each with its one sample (a scalar answer is
        one series without labels)."""
        data = await self._post("query", {"query": promql, "time": _format(_seconds(time))}, promql)
        return [Series(labels, tuple(samples)) for labels, samples in _vector(data, self.url)]

    async def history(
        self, metric: Metric, *, start: Instant, end: Instant, step: Step
    ) -> list[Series]:
        """:meth:`query_range` of the metric's own PromQL."""
        return await self.query_range(metric.promql, start=start, end=end, step=step)

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> PrometheusClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _query_slice(
        self, promql: str, start: float, end: float, step: float
    ) -> list[tuple[dict[str, str], list[Sample]]]:
        params = {
            "query": promql,
            "start": _format(start),
            "end": _format(end),
            "step": _format(step),
        }
        return _matrix(await self._post("query_range", params, promql), self.url)

    async def _post(self, api: str, params: dict[str, str], promql: str) -> object:
        """The ``data`` of a successful answer of ``/api/v1/<api>``."""
        endpoint = f"{self.url}/api/v1/{api}"
        try:
            # POST form, as Prometheus accepts: a long PromQL never hits a URL length limit.
            response = await self._client.post(
                endpoint, data=params, headers=self._headers, timeout=self._timeout
            )
        except httpx.TransportError as exc:
            raise PrometheusError(
                f"Prometheus at {self.url} is unreachable: {type(exc).__name__}: {exc}"
            ) from exc
        body = _json(response, self.url)
        if body.get("status") != "success":
            error_type = body.get("errorType")
            raise PrometheusError(
                f"Prometheus at {self.url} refused the query "
                f"({error_type or f'HTTP {response.status_code}'}): "
                f"{body.get('error') or 'no message'}; query: {promql}",
                status=response.status_code,
                error_type=str(error_type) if error_type else None,
            )
        return body.get("data")


def _json(response: httpx.Response, url: str) -> dict[str, Any]:
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        # RecursionError: JSON nested deeper than Python's parser goes.
        snippet = response.text[:120]
        raise PrometheusError(
            f"Prometheus at {url} answered HTTP {response.status_code} with a body that is not "
            f"JSON ({snippet!r}); is the URL a Prometheus API?",
            status=response.status_code,
        ) from exc
    if not isinstance(body, dict):
        raise PrometheusError(
            f"Prometheus at {url} answered HTTP {response.status_code} with JSON that is not an "
            "API response object",
            status=response.status_code,
        )
    return body


def _matrix(data: object, url: str) -> list[tuple[dict[str, str], list[Sample]]]:
    if not isinstance(data, dict) or data.get("resultType") != "matrix":
        kind = data.get("resultType") if isinstance(data, dict) else type(data).__name__
        raise PrometheusError(
            f"Prometheus at {url} answered a range query with {kind!r}, not a matrix"
        )
    result = data.get("result")
    if not isinstance(result, list):
        raise PrometheusError(f"Prometheus at {url} answered a matrix without a result list")
    out = []
    for series in result:
        try:
            labels = {str(k): str(v) for k, v in series["metric"].items()}
            samples = [Sample(float(t), float(value)) for t, value in series["values"]]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise PrometheusError(
                f"Prometheus at {url} answered a malformed series: {exc}"
            ) from exc
        out.append((labels, samples))
    return out


def _vector(data: object, url: str) -> list[tuple[dict[str, str], list[Sample]]]:
    kind = data.get("resultType") if isinstance(data, dict) else type(data).__name__
    result = data.get("result") if isinstance(data, dict) else None
    try:
        if kind == "scalar" and isinstance(result, list):
            return [({}, [Sample(float(result[0]), float(result[1]))])]
        if kind == "vector" and isinstance(result, list):
            out = []
            for series in result:
                labels = {str(k): str(v) for k, v in series["metric"].items()}
                t, value = series["value"]
                out.append((labels, [Sample(float(t), float(value))]))
            return out
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise PrometheusError(f"Prometheus at {url} answered a malformed sample: {exc}") from exc
    raise PrometheusError(
        f"Prometheus at {url} answered an instant query with {kind!r}, not a vector or scalar"
    )


def _slices(start: float, end: float, step: float, max_points: int) -> list[tuple[float, float]]:
    """Consecutive [from, to] ranges of at most ``max_points`` points, on the grid start + k*step,
    so the joined answer has exactly the points one unlimited query would have."""
    points = math.floor((end - start) / step + 1e-9) + 1
    slices = []
    for first_point in range(0, points, max_points):
        last_point = min(first_point + max_points, points) - 1
        slices.append((start + first_point * step, start + last_point * step))
    return slices


def _seconds(value: Instant) -> float:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"{value!r} is naive; pass a timezone-aware datetime")
        return value.timestamp()
    return float(value)


def _step_seconds(step: Step) -> float:
    seconds = step.total_seconds() if isinstance(step, timedelta) else float(step)
    if not seconds > 0:
        raise ValueError(f"step must be positive, not {step!r}")
    return seconds


def _format(seconds: float) -> str:
    return f"{seconds:.3f}"
