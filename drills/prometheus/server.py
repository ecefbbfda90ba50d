"""Starting and stopping a real Prometheus on loopback over a TSDB, and backfilling
OpenMetrics text into one with promtool.

The server runs in a session of its own, so a Ctrl-C at the terminal reaches beamdrill
only; beamdrill then stops it (SIGTERM, then SIGKILL after a grace period). On Linux the
server also gets SIGTERM if beamdrill dies without stopping it (killed with SIGKILL), so
it is never left running alone.
"""

from __future__ import annotations

import ctypes
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Final, Iterator

from drills.prometheus.api import PromAPI, PrometheusError

#: How to install the binaries, for the error that says they are missing.
INSTALL_HINT: Final[str] = "Debian: apt-get install -y --no-install-recommends prometheus"
#: How long Prometheus may take to answer /-/ready, and to stop once asked.
READY_TIMEOUT_S: Final[float] = 60.0
STOP_TIMEOUT_S: Final[float] = 20.0
#: How many free ports to try when the one chosen is taken before Prometheus binds it.
FREE_PORT_ATTEMPTS: Final[int] = 3
#: What Prometheus' log says when its port is taken.
ADDRESS_IN_USE: Final[str] = "address already in use"


def binaries() -> tuple[str, str]:
    """The paths of promtool and prometheus (:class:`PrometheusError` when either is missing)."""
    promtool, prometheus = shutil.which("promtool"), shutil.which("prometheus")
    missing = [name for name, path in (("prometheus", prometheus), ("promtool", promtool)) if path is None]
    if promtool is None or prometheus is None:
        raise PrometheusError(f"{' and '.join(missing)} not installed ({INSTALL_HINT})")
    return promtool, prometheus


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int) -> bool:
    """Whether something already listens on 127.0.0.1:``port``. Closed connections lingering
    in TIME_WAIT do not count: Prometheus binds with SO_REUSEADDR, and so does this check."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def backfill(metrics: Path, data: Path) -> None:
    """``promtool tsdb create-blocks-from openmetrics metrics data``."""
    promtool, _ = binaries()
    done = subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(metrics), str(data)],
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        tail = (done.stderr + done.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise PrometheusError(f"{metrics}: promtool could not backfill it: {tail[0]}")


#: prctl's option that signals a process when its parent dies (Linux).
_PR_SET_PDEATHSIG: Final[int] = 1


def _die_with_parent() -> None:
    """In the child before exec: ask Linux for SIGTERM when the parent dies."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class PrometheusProcess:
    """A Prometheus server over TSDB ``data`` with ``config`` on 127.0.0.1:``port``; its log
    goes to ``log``."""

    def __init__(self, data: Path, config: Path, port: int, log: Path) -> None:
        _, binary = binaries()
        self.api = PromAPI.on_port(port)
        self.log = log
        with log.open("w") as stream:
            self.process = subprocess.Popen(
                [binary, f"--config.file={config}", f"--storage.tsdb.path={data}",
                 "--storage.tsdb.retention.time=100y", f"--web.listen-address=127.0.0.1:{port}"],
                stdout=stream, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None)

    def log_tail(self, lines: int = 5) -> str:
        """The last ``lines`` lines of the server's log."""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def exited(self) -> int | None:
        """The server's exit code if it has stopped, else None."""
        return self.process.poll()

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        """Return once the server answers /-/ready (:class:`PrometheusError` if it exits or takes too long)."""
        deadline = time.monotonic() + timeout
        while not self.api.ready():
            if self.exited() is not None:
                raise PrometheusError(f"prometheus exited with code {self.process.returncode}: {self.log_tail(1)}")
            if time.monotonic() > deadline:
                raise PrometheusError(f"prometheus was not ready in {timeout:g} s: {self.log_tail(1)}")
            time.sleep(0.2)

    def stop(self) -> None:
        """Stop the server: SIGTERM, then SIGKILL if it has not stopped in time."""
        if self.exited() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT_S)


@contextmanager
def serve(work: Path, data: Path, config: Path, port: int | None = None) -> Iterator[PrometheusProcess]:
    """Within the block, Prometheus serves TSDB ``data`` with ``config`` on ``port`` (a free
    one by default) and is ready; it is stopped on leaving. Its log is ``work/prometheus.log``.

    A free port is only free when it is chosen: when another process binds it before
    Prometheus does (tests running side by side), Prometheus starts again on another one."""
    for attempt in range(1, FREE_PORT_ATTEMPTS + 1):
        server = PrometheusProcess(data, config, free_port() if port is None else port, work / "prometheus.log")
        try:
            server.wait_ready()
            break
        except PrometheusError:
            server.stop()
            if port is not None or attempt == FREE_PORT_ATTEMPTS or ADDRESS_IN_USE not in server.log_tail():
                raise
    try:
        yield server
    finally:
        server.stop()
