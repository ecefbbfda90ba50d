"""The calls of Prometheus' HTTP API beamdrill makes: instant and range queries."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

#: One instant-query sample's key: metric name and sorted labels.
SampleKey = tuple[str, tuple[tuple[str, str], ...]]


class PrometheusError(Exception):
    """Prometheus could not be found, started, reached or answered a query; the message says which."""


class PromAPI:
    """Prometheus' HTTP API at ``base`` (``http://127.0.0.1:9090``)."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")

    @classmethod
    def on_port(cls, port: int) -> PromAPI:
        """The API of a Prometheus listening on 127.0.0.1:``port``."""
        return cls(f"http://127.0.0.1:{port}")

    def get(self, path: str, **params: Any) -> Any:
        """GET ``path`` with ``params``; the response's ``data`` (:class:`PrometheusError` unless it succeeded)."""
        url = f"{self.base}{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                body = json.load(response)
        except urllib.error.HTTPError as error:
            body = json.loads(error.read() or b"{}")
        except (OSError, ValueError) as error:
            raise PrometheusError(f"{self.base}: no answer from Prometheus ({error})") from None
        if body.get("status") != "success":
            raise PrometheusError(f"{self.base}{path}: {body.get('errorType', 'error')}: {body.get('error', body)}")
        return body["data"]

    def ready(self) -> bool:
        """Whether Prometheus answers ``/-/ready`` with 200."""
        try:
            with urllib.request.urlopen(f"{self.base}/-/ready", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def vector(self, query: str, at: float) -> dict[SampleKey, float]:
        """An instant query's samples at ``at``: (name, sorted labels) → value."""
        data = self.get("/api/v1/query", query=query, time=f"{at:.3f}")
        if data["resultType"] != "vector":
            raise PrometheusError(f"{query}: expected a vector, got a {data['resultType']}")
        out: dict[SampleKey, float] = {}
        for item in data["result"]:
            metric = dict(item["metric"])
            name = metric.pop("__name__", "")
            out[(name, tuple(sorted(metric.items())))] = float(item["value"][1])
        return out

    def range(self, query: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        """A range query's series: each ``{"metric": labels, "values": [[t, "v"], ...]}``."""
        data = self.get("/api/v1/query_range", query=query, start=f"{start:.3f}", end=f"{end:.3f}", step=f"{step:g}")
        if data["resultType"] != "matrix":
            raise PrometheusError(f"{query}: expected a matrix, got a {data['resultType']}")
        result: list[dict[str, Any]] = data["result"]
        return result
