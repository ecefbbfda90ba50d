"""SIGINT and SIGTERM stop a real ``beamdrill run`` at the virtual time reached: every file
asked for is written up to then, ``result.json`` says ``interrupted``, one line says so,
the exit code is the signal's, no temporary file is left, and an earlier run's files in
the same ``--out`` are gone, never mixed with the new ones."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BEAMDRILL = Path(sys.executable).parent / "beamdrill"
PARTNER_DAY = REPO / "scenarios" / "partner-day.yaml"


def start(out: Path, *options: str) -> subprocess.Popen[str]:
    return subprocess.Popen([str(BEAMDRILL), "run", str(PARTNER_DAY), "--out", str(out), *options],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def interrupt_when_running(process: subprocess.Popen[str], out: Path, signum: int) -> tuple[str, str]:
    """Send ``signum`` once the run has begun simulating (its staging directory exists)."""
    deadline = time.monotonic() + 60
    while not list(out.parent.glob(f".{out.name}.staging-*")):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.05)
    time.sleep(1.0)
    process.send_signal(signum)
    return process.communicate(timeout=120)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_the_run_and_every_file_is_written_up_to_then(tmp_path: Path, signum: int) -> None:
    out = tmp_path / "run"
    process = start(out, "--until", "24h", "--events", "--metrics", "--traces", "failed", "--seed", "2")
    _, stderr = interrupt_when_running(process, out, signum)
    assert process.returncode == 128 + signum, stderr
    name = signal.Signals(signum).name
    result = json.loads((out / "result.json").read_text())
    reached = result["reached"]
    assert (result["status"], result["interrupted_by"], result["error"]) == ("interrupted", name, None)
    assert 0 < reached < 24 * 3600 and result["summary"]["virtual_seconds"] == reached
    assert result["summary"]["conservation"] == []
    assert stderr.strip().splitlines()[-1] == (f"interrupted by {name} at t={reached:g}s of 86400s; every file is "
                                               f"written up to then in {out}")
    assert "Traceback" not in stderr
    assert sorted(path.name for path in out.iterdir()) == sorted(result["files"])
    assert {"events.jsonl", "metrics.om", "traces.otlp.jsonl"} <= set(result["files"])
    last_event = json.loads((out / "events.jsonl").read_text().splitlines()[-1])
    assert last_event["t"] <= reached
    assert (out / "metrics.om").read_text().endswith("# EOF\n")
    assert [path.name for path in tmp_path.iterdir()] == ["run"]  # no staging or temporary file left


def test_a_rerun_into_the_same_out_never_mixes_with_the_earlier_run(tmp_path: Path) -> None:
    out = tmp_path / "run"
    first = subprocess.run([str(BEAMDRILL), "run", str(REPO / "scenarios" / "demo.yaml"), "--out", str(out),
                            "--events", "--metrics"], capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "metrics.om" in {path.name for path in out.iterdir()}
    process = start(out, "--until", "24h", "--seed", "2")
    interrupt_when_running(process, out, signal.SIGINT)
    assert process.returncode == 130
    result = json.loads((out / "result.json").read_text())
    assert (result["status"], result["seed"]) == ("interrupted", 2)
    assert sorted(path.name for path in out.iterdir()) == sorted(result["files"])  # no metrics.om, events of seed 7
    assert [path.name for path in tmp_path.iterdir()] == ["run"]


def test_an_interrupted_drill_run_writes_its_summary_with_what_was_done_and_not_run(tmp_path: Path) -> None:
    out = tmp_path / "drills"
    process = subprocess.Popen([str(BEAMDRILL), "drill", "run", "--all", "--out", str(out)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(out.parent.glob(f".{out.name}.staging-*/fm1-stuck-delivered")):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    summary = json.loads((out / "summary.json").read_text())
    verdicts = [drill["verdict"] for drill in summary["drills"]]
    assert verdicts[-1] == "interrupted" and set(verdicts[:-1]) == {"completed"}
    assert len(verdicts) + len(summary["not_run"]) == 11
    interrupted = summary["drills"][-1]["drill"]
    journal = json.loads((out / interrupted / "journal.json").read_text())
    assert journal["status"] == "interrupted" and journal["reason"].startswith("interrupted by SIGINT at t=")
    assert sorted(path.name for path in out.iterdir()) == sorted([d["drill"] for d in summary["drills"]]
                                                                 + ["summary.json"])
    assert stderr.strip().splitlines()[-1] == (
        f"interrupted by SIGINT: {len(verdicts) - 1} drills done, {interrupted} interrupted, "
        f"{len(summary['not_run'])} not run; the files are in {out}")
    assert [path.name for path in tmp_path.iterdir()] == ["drills"]
