"""A real Prometheus on loopback over backfilled metrics, for the metrics and dashboard tests:
the starting, readiness wait and stopping of :mod:`drills.prometheus.server` (what
``beamdrill prometheus`` runs), with a missing binary a skip (a failure when
``BEAMDRILL_REQUIRE_PROMETHEUS`` is set) and a server that does not start a test failure.

Every built-in drill starts at the same epoch, so each drill's ``metrics.om`` is shifted
by whole days (:func:`shifted`) before ``promtool tsdb create-blocks-from openmetrics``
puts it in one TSDB: drill number ``i`` lives on day ``i + 1`` after its own epoch.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

from drills.prometheus import server
from drills.prometheus.api import PromAPI, PrometheusError

__all__ = ["DAY", "PromAPI", "binaries", "require_prometheus", "serve", "shifted"]

DAY = 86_400


def require_prometheus() -> None:
    """Skip the test without promtool and prometheus (fail it when BEAMDRILL_REQUIRE_PROMETHEUS is set)."""
    try:
        server.binaries()
    except PrometheusError as error:
        reason = f"{error}; .ci/run installs them"
        if os.environ.get("BEAMDRILL_REQUIRE_PROMETHEUS"):
            pytest.fail(reason + ", but BEAMDRILL_REQUIRE_PROMETHEUS is set")
        pytest.skip(reason)


def binaries() -> tuple[str, str]:
    """promtool and prometheus; skip (or fail when BEAMDRILL_REQUIRE_PROMETHEUS is set) without them."""
    require_prometheus()
    return server.binaries()


def shifted(text: str, seconds: int) -> str:
    """OpenMetrics text with every sample's timestamp moved ``seconds`` later."""
    lines = []
    for line in text.splitlines():
        if line and not line.startswith("#"):
            head, stamp = line.rsplit(" ", 1)
            line = f"{head} {float(stamp) + seconds:.3f}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def serve(work: Path, data: Path, config: Path) -> Iterator[PromAPI]:
    """Run Prometheus over TSDB ``data`` with ``config`` on a free loopback port until the
    generator is closed."""
    require_prometheus()
    try:
        with server.serve(work, data, config) as running:
            yield running.api
    except PrometheusError as error:
        pytest.fail(f"{error}\n{(work / 'prometheus.log').read_text()[-2000:]}")
