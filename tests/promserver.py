"""A real Prometheus on loopback over backfilled metrics, for the metrics and dashboard tests.

Every built-in drill starts at the same epoch, so each drill's ``metrics.om`` is shifted
by whole days (:func:`shifted`) before ``promtool tsdb create-blocks-from openmetrics``
puts it in one TSDB: drill number ``i`` lives on day ``i + 1`` after its own epoch.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

DAY = 86_400


def binaries() -> tuple[str, str]:
    """promtool and prometheus; skip (or fail when BEAMDRILL_REQUIRE_PROMETHEUS is set) without them."""
    promtool, prometheus = shutil.which("promtool"), shutil.which("prometheus")
    if promtool is None or prometheus is None:
        reason = ("promtool/prometheus are not installed (Debian: apt-get install -y --no-install-recommends "
                  "prometheus; .ci/run does this)")
        if os.environ.get("BEAMDRILL_REQUIRE_PROMETHEUS"):
            pytest.fail(reason + ", but BEAMDRILL_REQUIRE_PROMETHEUS is set")
        pytest.skip(reason)
    return promtool, prometheus


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def shifted(text: str, seconds: int) -> str:
    """OpenMetrics text with every sample's timestamp moved ``seconds`` later."""
    lines = []
    for line in text.splitlines():
        if line and not line.startswith("#"):
            head, stamp = line.rsplit(" ", 1)
            line = f"{head} {float(stamp) + seconds:.3f}"
        lines.append(line)
    return "\n".join(lines) + "\n"


class PromAPI:
    """The calls of Prometheus' HTTP API the tests make."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"

    def get(self, path: str, **params: Any) -> Any:
        """GET ``path`` with ``params``; the response's ``data``."""
        url = f"{self.base}{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=30) as response:
            body = json.load(response)
        assert body["status"] == "success", body
        return body["data"]

    def vector(self, query: str, at: float) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """An instant query's samples at ``at``: (name, sorted labels) → value."""
        data = self.get("/api/v1/query", query=query, time=f"{at:.3f}")
        assert data["resultType"] == "vector"
        out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        for item in data["result"]:
            metric = dict(item["metric"])
            name = metric.pop("__name__", "")
            out[(name, tuple(sorted(metric.items())))] = float(item["value"][1])
        return out

    def range(self, query: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        """A range query's series: each ``{"metric": labels, "values": [[t, "v"], ...]}``."""
        data = self.get("/api/v1/query_range", query=query, start=f"{start:.3f}", end=f"{end:.3f}", step=f"{step:g}")
        assert data["resultType"] == "matrix"
        result: list[dict[str, Any]] = data["result"]
        return result


def serve(work: Path, data: Path, config: Path) -> Iterator[PromAPI]:
    """Run Prometheus over TSDB ``data`` with ``config`` on a free loopback port until the
    generator is closed."""
    _, binary = binaries()
    port = free_port()
    log_path = work / "prometheus.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={data}", "--storage.tsdb.retention.time=100y",
             f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT)
        try:
            api = PromAPI(port)
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None:
                    pytest.fail(f"prometheus exited with {process.returncode}: {log_path.read_text()[-2000:]}")
                try:
                    with urllib.request.urlopen(f"{api.base}/-/ready", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"prometheus not ready in 60 s: {log_path.read_text()[-2000:]}")
                time.sleep(0.2)
            yield api
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
