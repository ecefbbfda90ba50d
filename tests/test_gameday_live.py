"""A GameDay served for real: uvicorn on loopback inside the GameDay's anyio loop, worked
over HTTP and finished, its proof pack and score; a real Prometheus scraping its live
``/metrics`` with the bearer token; the command line's refusals and SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from conftest import beamdrill
from drills.gameday.server import GameDay, GameDayResult, run_gameday
from drills.gameday.session import load_gameday
from drills.prometheus.server import free_port
from promserver import serve

TOKEN = "live-test-token-1234"


class Running:
    """A GameDay running in a thread, and an HTTP client for it."""

    def __init__(self, name: str, out: Path, speed: float, token: str | None = None) -> None:
        self.ready = threading.Event()
        self.day = GameDay(port=0, speed=speed, token=token, ready=lambda url: self.ready.set(), wall_limit=120)
        self.result: GameDayResult | None = None
        loaded = load_gameday(name)

        def run() -> None:
            self.result = run_gameday(loaded, out, self.day)
        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert self.ready.wait(60), "the GameDay did not start listening in 60 s"
        self.port = self.day.port  # the one the system chose
        self.base = f"http://127.0.0.1:{self.port}"
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self.client = httpx.Client(base_url=self.base, timeout=10, headers=headers)

    def wait_for(self, path: str, test: Any, limit: float = 60) -> Any:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            body = self.client.get(path).json()
            if test(body):
                return body
            time.sleep(0.1)
        pytest.fail(f"{path} never answered as wanted in {limit} s")

    def finish(self) -> GameDayResult:
        assert self.client.post("/api/gameday/finish").status_code == 202
        self.thread.join(120)
        assert not self.thread.is_alive() and self.result is not None
        self.client.close()
        return self.result


def test_a_gameday_worked_over_http_writes_the_proof_pack_and_the_score(tmp_path: Path) -> None:
    out = tmp_path / "day"
    day = Running("fm3-dead-letter", out, speed=200)
    dead = day.wait_for("/v1/beam/dead-letter", lambda body: body["count"] == 6)
    assert day.client.get("/").text.startswith("<!doctype html>")
    acked = day.client.patch("/admin/operator-notifications/1", json={"status": "acknowledged", "owner": "dana"},
                             headers={"x-beamdrill-actor": "dana"})
    assert acked.status_code == 200
    assert day.client.post("/observability/export", json={"datasets": ["intents", "dead_letters"]}).status_code == 200
    assert day.client.post("/api/gameday/faults/0/revert").json() == {"ok": True, "reverted": 0}
    for row in dead["rows"]:
        assert day.client.post(f"/v1/beam/dead-letter/{row['id']}/requeue").status_code == 202
    day.wait_for("/v1/beam/dead-letter", lambda body: body["count"] == 0)
    assert day.client.get("/nope").status_code == 404
    result = day.finish()
    assert result.score is not None
    names = {path.name for path in out.iterdir()}
    assert {"journal.json", "report.md", "chart.png", "metrics.om", "events.jsonl", "result.json", "audit.jsonl",
            "inbox.json", "alerts.json", "dead-letters.json", "score.json", "score.md",
            "operator-journal.json"} <= names
    score = json.loads((out / "score.json").read_text())
    (ack,) = score["acknowledgements"]
    assert (ack["key"], ack["owner"]) == ("critical-alert:network-error-rate", "dana")
    assert ack["seconds"] == ack["acknowledged_at"] - ack["raised_at"] > 0
    assert score["violations"] == [] and score["made_worse"] == []
    assert score["time_to_mitigate"] > 0 and score["speed"] == 200.0 and score["lag_p99"] is not None
    journal = json.loads((out / "operator-journal.json").read_text())
    assert [a["action"] for a in journal["actions"]] == (["inbox.patch", "evidence.export", "fault.revert"]
                                                         + ["dead_letter.requeue"] * 6 + ["gameday.finish"])
    result_json = json.loads((out / "result.json").read_text())
    assert result_json["status"] == "completed" and result_json["reached"] < 1200
    assert "# GameDay score: fm3-dead-letter" in (out / "score.md").read_text()


@pytest.fixture
def prometheus_scraping(tmp_path: Path) -> Iterator[tuple[Running, Any]]:
    out = tmp_path / "day"
    day = Running("fm3-dead-letter", out, speed=20, token=TOKEN)
    config = tmp_path / "prometheus.yml"
    config.write_text(f"""global: {{scrape_interval: 1s, scrape_timeout: 1s}}
scrape_configs:
  - job_name: gameday
    authorization: {{credentials: {TOKEN}}}
    static_configs: [{{targets: ['127.0.0.1:{day.port}']}}]
""")
    (tmp_path / "data").mkdir()
    generator = serve(tmp_path, tmp_path / "data", config)
    try:
        yield day, next(generator)
    finally:
        generator.close()
        day.finish()


def test_a_real_prometheus_scrapes_the_live_metrics(prometheus_scraping: tuple[Running, Any]) -> None:
    day, prometheus = prometheus_scraping
    deadline = time.monotonic() + 90
    moved = 0.0
    while time.monotonic() < deadline:
        found = prometheus.get("/api/v1/query", query="max_over_time(beamdrill_bus_attempts_total[5m]) - "
                                                      "min_over_time(beamdrill_bus_attempts_total[5m])")["result"]
        if found and float(found[0]["value"][1]) > 0:
            moved = float(found[0]["value"][1])
            break
        time.sleep(1)
    assert moved > 0, "the bus attempts counter never moved in Prometheus"
    (up,) = prometheus.get("/api/v1/query", query='up{job="gameday"}')["result"]
    assert up["value"][1] == "1"
    assert httpx.get(f"{day.base}/metrics").status_code == 401  # no token, no metrics


@pytest.mark.parametrize(("args", "field"), [
    (["fm3-dead-letter", "--host", "0.0.0.0"], "--host"),
    (["fm3-dead-letter", "--speed", "0"], "--speed"),
    (["fm3-dead-letter", "--speed", "100000"], "--speed"),
    (["fm3-dead-letter", "--port", "0"], "--port"),
    (["fm3-dead-letter", "--token", "short"], "--token"),
    (["no-such-drill"], "DRILL"),
])
def test_the_command_line_refuses_bad_input_in_one_line(args: list[str], field: str) -> None:
    done = beamdrill("gameday", *args, env={"BEAMDRILL_GAMEDAY_TOKEN": None})
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert f": {field}: " in line


def test_sigterm_ends_the_gameday_and_writes_the_files(tmp_path: Path) -> None:
    port, out = free_port(), tmp_path / "day"
    script = Path(sys.executable).with_name("beamdrill")
    process = subprocess.Popen([str(script), "gameday", "clean-demo", "--port", str(port), "--out", str(out)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "COLUMNS": "200"})
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert f"on http://127.0.0.1:{port}/" in first, first + (process.stderr.read() if process.stderr else "")
        time.sleep(1.5)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 143, stderr
    result = json.loads((out / "result.json").read_text())
    assert (result["status"], result["interrupted_by"]) == ("interrupted", "SIGTERM")
    assert 0 < result["reached"] < 180
    assert json.loads((out / "journal.json").read_text())["status"] == "interrupted"
    assert (out / "score.json").is_file() and "interrupted by SIGTERM" in stderr
