"""A run's ``metrics.om`` in a fresh TSDB, served by Prometheus with Beam's alert rules.

The configuration and rules written beside the TSDB are the generator's
``prometheus/prometheus.yml`` and ``prometheus/rules.yml``, the files committed under
``grafana/`` (a test keeps them equal), so this works from any directory.
"""

from __future__ import annotations

import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from pydantic import BaseModel

from drills.dashboards.generate import generated_files
from drills.prometheus.server import PrometheusProcess, backfill, binaries, serve
from simulator import InputError, Problem

#: The file of a run directory Prometheus backfills.
METRICS_FILE = "metrics.om"


class RunMetricsError(InputError):
    """The run directory has no metrics to load."""


class RunMetrics(BaseModel):
    """A run's ``metrics.om``: where it is and the time range of its samples (Unix seconds)."""

    run: Path
    path: Path
    start: float
    end: float

    @property
    def duration(self) -> float:
        """Seconds from the first sample to the last."""
        return self.end - self.start


def run_metrics(run: Path) -> RunMetrics:
    """``run/metrics.om`` and its samples' time range; :class:`RunMetricsError` when ``run``
    is no directory or has no (or an empty) ``metrics.om``."""
    path = run / METRICS_FILE
    if not run.is_dir():
        raise RunMetricsError([Problem(file=str(run), field="RUN_DIR", message="expected a run directory, found "
                                       + ("a file" if run.exists() else "nothing there"))])
    if not path.is_file():
        raise RunMetricsError([Problem(file=str(path), field="(file)", message="expected the metrics every drill run "
                                       "writes (and `beamdrill run --metrics`), found none")])
    first = last = None
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if line.startswith("#") or not line.strip():
                continue
            try:
                stamp = float(line.rsplit(" ", 1)[1])
            except (IndexError, ValueError):
                continue
            first = stamp if first is None else min(first, stamp)
            last = stamp if last is None else max(last, stamp)
    if first is None or last is None:
        raise RunMetricsError([Problem(file=str(path), field="(file)",
                                       message="expected timestamped OpenMetrics samples, found none")])
    return RunMetrics(run=run, path=path, start=first, end=last)


def prepare(metrics: RunMetrics, work: Path) -> tuple[Path, Path]:
    """Backfill ``metrics`` into ``work/data`` and write the generated prometheus.yml and
    rules.yml into ``work``; the TSDB's and the configuration's paths."""
    data, config = work / "data", work / "prometheus.yml"
    backfill(metrics.path, data)
    generated = generated_files()
    config.write_text(generated["prometheus/prometheus.yml"])
    (work / "rules.yml").write_text(generated["prometheus/rules.yml"])
    return data, config


@contextmanager
def serve_run(metrics: RunMetrics, port: int | None = None) -> Iterator[PrometheusProcess]:
    """Within the block, a ready Prometheus serves ``metrics`` (backfilled into a temporary
    TSDB, removed afterwards) with Beam's rules, on ``port`` (a free one by default)."""
    binaries()
    with tempfile.TemporaryDirectory(prefix="beamdrill-prometheus-") as folder:
        work = Path(folder)
        data, config = prepare(metrics, work)
        with serve(work, data, config, port) as server:
            yield server
