"""``beamdrill prometheus RUN_DIR``: a drill's metrics.om backfilled into a fresh TSDB and
served by a real Prometheus on loopback with Beam's rules, the Grafana datasource printed,
a clean stop on Ctrl-C and SIGTERM (server gone, TSDB removed), and one line with exit
code 2 for each thing that stops it from starting."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Iterator

import pytest

from conftest import beamdrill
from drills.prometheus.run import run_metrics
from drills.prometheus.server import free_port, port_in_use
from drills.snapshot.board import generated_boards
from promserver import PromAPI, require_prometheus

BEAMDRILL = Path(sys.executable).parent / "beamdrill"
#: How long the server may take to print that it is ready, and to stop once asked.
START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 40.0
#: recovery-drill's metrics: 2026-04-03 08:00 UTC plus its 6 minutes.
START, END = 1_775_203_200.0, 1_775_203_560.0


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """recovery-drill's result directory (faults and operator steps, metrics.om)."""
    out = tmp_path_factory.mktemp("prometheus-command") / "runs"
    done = beamdrill("drill", "run", "recovery-drill", "--out", out)
    assert done.returncode == 0, done.stderr
    return out / "recovery-drill"


def last_sample(run: Path, series: str) -> float:
    """The value of ``series`` (name and labels as written) in the run's last sample of it."""
    found = [line for line in (run / "metrics.om").read_text().splitlines() if line.startswith(series + " ")]
    return float(found[-1].split(" ")[1])


class Served:
    """A running ``beamdrill prometheus`` process and the lines it has printed."""

    def __init__(self, run: Path, port: int, tmp: Path) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self.process = subprocess.Popen([str(BEAMDRILL), "prometheus", str(run), "--port", str(port)],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        env={**os.environ, "TMPDIR": str(tmp)})
        assert self.process.stdout is not None
        threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def until(self, last: str, timeout: float) -> list[str]:
        """Every line printed up to and including ``last`` (fails after ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        while not self.lines or self.lines[-1] != last:
            try:
                line = self._queue.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"no {last!r} in {timeout:g} s; printed: {self.lines}")
            if line is None:
                stderr = self.process.stderr.read() if self.process.stderr else ""
                pytest.fail(f"exited with {self.process.wait(timeout=STOP_TIMEOUT_S)}: {self.lines} {stderr}")
            self.lines.append(line)
        return self.lines

    def stop(self, signum: int) -> tuple[int, list[str], str]:
        """Send ``signum``; the exit code, the lines printed after it, and stderr."""
        before = len(self.lines)
        self.process.send_signal(signum)
        code = self.process.wait(timeout=STOP_TIMEOUT_S)
        while (line := self._queue.get(timeout=STOP_TIMEOUT_S)) is not None:
            self.lines.append(line)
        return code, self.lines[before:], self.process.stderr.read() if self.process.stderr else ""

    def kill(self) -> None:
        """Stop the process whatever state it is in (cleanup after a failed test): SIGTERM,
        so it stops its Prometheus, then SIGKILL."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT_S)


@pytest.fixture
def served(run_dir: Path, tmp_path: Path) -> Iterator[tuple[Served, int, Path]]:
    """``beamdrill prometheus`` over recovery-drill on a free port, with its own TMPDIR."""
    require_prometheus()
    port = free_port()
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    running = Served(run_dir, port, temporary)
    try:
        yield running, port, temporary
    finally:
        running.kill()


def test_the_run_is_served_with_the_rules_until_ctrl_c(served: tuple[Served, int, Path], run_dir: Path) -> None:
    running, port, temporary = served
    url = f"http://127.0.0.1:{port}"
    window = f"from={int(START * 1000)}&to={int(END * 1000) + 1000}"
    assert running.until("Ctrl-C stops it.", START_TIMEOUT_S) == [
        f"Prometheus serves {run_dir / 'metrics.om'} at {url} (12 alert rules loaded)",
        "time range: 2026-04-03T08:00:00Z to 2026-04-03T08:06:00Z (the run's epoch, not now)",
        "Grafana: provision this datasource (grafana/provisioning/datasources/beamdrill.yaml points at port 9090):",
        "  apiVersion: 1", "  datasources:", "  - name: beamdrill", "    type: prometheus",
        "    uid: beamdrill-prometheus", "    access: proxy", f"    url: {url}", "    isDefault: false",
        "    jsonData:", "      timeInterval: 15s",
        *(f"dashboard: http://localhost:3000/d/{board.uid}?{window}" for board in generated_boards()),
        f"snapshot: beamdrill dashboards snapshot {run_dir} --prometheus {url}", "Ctrl-C stops it."]
    api = PromAPI(url)
    assert api.vector("beamdrill_agents_connected", END) == {("beamdrill_agents_connected", ()):
                                                             last_sample(run_dir, "beamdrill_agents_connected")}
    assert api.vector("beamdrill_restarts_total", END) == {
        ("beamdrill_restarts_total", (("component", component),)): 1.0 for component in ("bus", "directory")}
    groups = api.get("/api/v1/rules")["groups"]
    assert [(group["name"], len(group["rules"])) for group in groups] == [("beam-alerts", 12)]
    assert len(list(temporary.glob("beamdrill-prometheus-*/data"))) == 1
    code, after, stderr = running.stop(signal.SIGINT)
    assert (code, after, stderr) == (0, ["stopped on SIGINT: Prometheus and its TSDB are gone"], "")
    assert not port_in_use(port)
    assert list(temporary.iterdir()) == []


def test_a_snapshot_reads_the_served_run_then_sigterm_stops_it(served: tuple[Served, int, Path], run_dir: Path,
                                                                  tmp_path: Path) -> None:
    running, port, temporary = served
    running.until("Ctrl-C stops it.", START_TIMEOUT_S)
    out = tmp_path / "snapshot"
    done = beamdrill("dashboards", "snapshot", run_dir, "--prometheus", f"http://127.0.0.1:{port}", "--out", out)
    assert (done.returncode, done.stderr) == (0, "")
    boards = generated_boards(run_dir / "metrics.om")
    assert done.stdout == (f"snapshot of {len(boards)} dashboards ({sum(len(board.panels) for board in boards)} "
                           f"panels, every one with data) in {out}: open {out / 'index.html'}\n")
    assert f"from http://127.0.0.1:{port} every 15 s" in (out / "beamdrill-recovery.html").read_text()
    code, after, stderr = running.stop(signal.SIGTERM)
    assert (code, after, stderr) == (0, ["stopped on SIGTERM: Prometheus and its TSDB are gone"], "")
    assert not port_in_use(port)
    assert list(temporary.iterdir()) == []


@pytest.mark.skipif(sys.platform != "linux", reason="the parent-death signal is Linux's")
def test_prometheus_does_not_outlive_a_killed_beamdrill(served: tuple[Served, int, Path]) -> None:
    running, port, _ = served
    running.until("Ctrl-C stops it.", START_TIMEOUT_S)
    running.process.kill()
    running.process.wait(timeout=STOP_TIMEOUT_S)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while port_in_use(port) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not port_in_use(port), "Prometheus kept running after beamdrill was killed"


def test_the_time_range_is_the_runs_first_and_last_sample(run_dir: Path) -> None:
    metrics = run_metrics(run_dir)
    assert (metrics.start, metrics.end, metrics.duration) == (START, END, 360.0)


# -- what stops it from starting: one line, exit code 2 ------------------------------------


def test_a_missing_run_directory_is_bad_input(tmp_path: Path) -> None:
    done = beamdrill("prometheus", tmp_path / "nowhere")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"{tmp_path / 'nowhere'}: RUN_DIR: expected a run directory, found nothing there\n"


def test_a_run_without_metrics_is_bad_input(tmp_path: Path) -> None:
    done = beamdrill("prometheus", tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (f"{tmp_path / 'metrics.om'}: (file): expected the metrics every drill run writes "
                           "(and `beamdrill run --metrics`), found none\n")


def test_metrics_without_samples_are_bad_input(tmp_path: Path) -> None:
    (tmp_path / "metrics.om").write_text("# TYPE beamdrill_up gauge\n# EOF\n")
    done = beamdrill("prometheus", tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"{tmp_path / 'metrics.om'}: (file): expected timestamped OpenMetrics samples, found none\n"


def test_prometheus_not_installed_is_one_line(run_dir: Path, tmp_path: Path) -> None:
    done = beamdrill("prometheus", run_dir, env={"PATH": str(tmp_path)})
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == ("(system): prometheus: prometheus and promtool not installed "
                           "(Debian: apt-get install -y --no-install-recommends prometheus)\n")


def test_a_port_in_use_is_one_line(run_dir: Path) -> None:
    require_prometheus()
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = beamdrill("prometheus", run_dir, "--port", str(port))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"(command line): --port: expected a free port on 127.0.0.1, found {port} in use\n"


def test_a_port_out_of_range_is_a_usage_error(run_dir: Path) -> None:
    done = beamdrill("prometheus", run_dir, "--port", "70000")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == ("(command line): Invalid value for '--port': Input should be less than or equal to "
                           "65535; see 'beamdrill prometheus --help'\n")
