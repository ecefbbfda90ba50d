"""What people read off the command line when it is piped: ids, nonces, drill names and
paths whole on one line at any width, and no stray blank lines on stderr."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from conftest import ROOT, beamdrill
from drills.drillfile.builtin import ORDER
from drills.runs.wholetable import WholeTable

#: A narrow terminal width; the output is captured, as when piped.
NARROW = {"COLUMNS": "40"}


@pytest.fixture(scope="module")
def clean_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """``beamdrill drill run clean-demo`` once: the result directory and its stderr."""
    out = tmp_path_factory.mktemp("clean") / "runs"
    done = beamdrill("drill", "run", "clean-demo", "--out", out, env=NARROW)
    assert done.returncode == 0, done.stderr
    return out, done.stderr


def test_drill_run_prints_no_blank_line_on_stderr(clean_demo: tuple[Path, str]) -> None:
    _, stderr = clean_demo
    assert stderr == ""


@pytest.fixture(scope="module")
def operator_drills(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """fire-drill (three alerts, three inbox items) and as-coded-retry-defect (a dead
    letter at the end), run once; their result directories are under the returned one."""
    out = tmp_path_factory.mktemp("operator") / "a-result-directory-with-a-name-longer-than-forty-columns"
    done = beamdrill("drill", "run", "fire-drill", "as-coded-retry-defect", "--out", out, env=NARROW)
    assert done.returncode == 0, done.stderr
    return out


def cells(line: str) -> list[str]:
    """The cells of one table row (body │ or header ┃), stripped."""
    return [cell.strip() for cell in line.strip().replace("┃", "│").strip("│").split("│")]


def body_rows(output: str) -> list[list[str]]:
    """Every body row of the tables in ``output`` that starts a record (its first cell is not empty)."""
    return [row for row in (cells(line) for line in output.splitlines() if line.startswith("│")) if row[0]]


def read(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def test_drill_list_keeps_every_name_whole_at_40_columns() -> None:
    done = beamdrill("drill", "list", env=NARROW)
    assert done.returncode == 0 and done.stderr == ""
    rows = body_rows(done.stdout)
    assert [(row[0], row[1], row[3]) for row in rows] == [
        ("clean-demo", "clean-demo", "11"), ("fm1-stuck-delivered", "stuck-delivered", "6"),
        ("fm2-queued-retries", "queued-retries", "9"), ("fm3-dead-letter", "dead-letter", "13"),
        ("fm4-forbidden-acl", "forbidden-acl", "8"), ("fm5-rate-limit-shield", "rate-limit-shield", "9"),
        ("fire-drill", "fire-drill", "19"), ("recovery-drill", "restart-recovery", "10"),
        ("as-coded-retry-defect", "queued-retries", "6"), ("backup-restore-drill", "backup-restore", "14"),
        ("restore-rpo-drill", "restore-rpo", "8")]
    assert [row[0] for row in rows] == list(ORDER)
    assert cells(done.stdout.splitlines()[1]) == ["drill", "rehearses", "title", "expectations"]


def test_dead_letters_keep_ids_and_nonces_whole_at_40_columns(operator_drills: Path) -> None:
    run = operator_drills / "as-coded-retry-defect"
    (row,) = read(run / "dead-letters.json")["rows"]
    done = beamdrill("dead-letters", "--run", run, env=NARROW)
    assert done.returncode == 0 and done.stderr == ""
    assert body_rows(done.stdout) == [[row["id"], row["nonce"], "partner-desk@northwind.beam.directory",
                                       "finance@acme.beam.directory", "purchase.preflight", "4", "Failed to relay intent",
                                       row["hint_kind"]]]
    lines = done.stdout.splitlines()
    assert lines[0] == "dead letters: 1, unique senders: 1, unique recipients: 1, max retry_count: 4"
    assert lines[-1] == f"  {row['hint_kind']}: {row['hint']}"


def test_inbox_and_alerts_keep_keys_ids_and_times_whole_at_40_columns(operator_drills: Path) -> None:
    read_at = "2026-04-03T08:12:00.000Z (t=720s)"  # the read that wrote alerts.json at the end
    run = operator_drills / "fire-drill"
    inbox = beamdrill("inbox", "--run", run, env=NARROW)
    assert inbox.returncode == 0 and inbox.stderr == ""
    assert [(row[0], row[1], row[2], row[3], row[6]) for row in body_rows(inbox.stdout)] == [
        ("2", "critical-alert:network-error-rate", "critical", "acknowledged", f"{read_at}, alert read"),
        ("1", "critical-alert:network-latency-p95", "critical", "acknowledged", f"{read_at}, alert read"),
        ("3", "critical-alert:error-hotspot-timeout", "critical", "acted", f"{read_at}, alert read"),
        ("4", "beta-request:1", "warning", "acted", "2026-04-03T08:10:00.000Z (t=600s), sync")]
    alerts = beamdrill("alerts", "--run", run, env=NARROW)
    assert alerts.returncode == 0 and alerts.stderr == ""
    assert body_rows(alerts.stdout) == [
        ["network-error-rate", "critical", "1", "0.1", "ratio", "2026-04-03T08:09:15.000Z (t=555s)",
         "2026-04-03T08:09:00.000Z (t=540s)"],
        ["network-latency-p95", "critical", "6200", "2000", "ms", "2026-04-03T08:00:15.000Z (t=15s)",
         "2026-04-03T08:09:00.000Z (t=540s)"],
        ["error-hotspot-timeout", "critical", "10", "5", "count", "2026-04-03T08:04:15.000Z (t=255s)",
         "2026-04-03T08:09:00.000Z (t=540s)"]]
    assert "  2026-04-03T08:09:15.000Z (t=555s)  changed error-hotspot-timeout critical (was warning), value 10" \
        in alerts.stdout.splitlines()


def test_drill_run_keeps_names_and_its_directory_whole_at_40_columns(operator_drills: Path) -> None:
    done = beamdrill("drill", "run", "fire-drill", "--out", operator_drills / "again", env=NARROW)
    assert done.returncode == 0 and done.stderr == ""
    lines = done.stdout.splitlines()
    assert [line.strip() for line in lines[:2]] == ["drills", f"({operator_drills / 'again'})"]  # the title wraps
    assert [row[:3] for row in body_rows(done.stdout)] == [["fire-drill", "completed", "19/19"]]
    assert lines[-1] == ("wrote summary.json and one directory per drill with journal.json, report.md, chart.png and metrics.om "
                         f"in {operator_drills / 'again'}")


def test_run_keeps_nonces_and_its_directory_whole_at_40_columns(tmp_path: Path) -> None:
    out = tmp_path / "a-run-directory-with-a-name-longer-than-forty-columns"
    done = beamdrill("run", ROOT / "scenarios" / "demo.yaml", "--out", out, env=NARROW)
    assert done.returncode == 0 and done.stderr == ""
    (quote,) = read(out / "result.json")["summary"]["quote_runs"]
    lines = done.stdout.splitlines()
    assert f"quote {quote['quote_nonce']}: acked, total 44160, inventory acked, preflight bus delivered / " \
           "directory acked" in lines
    assert lines[-1].startswith(f"wrote result.json, audit.jsonl, alerts.json, inbox.json, dead-letters.json in {out}  (")


def test_trace_keeps_the_nonce_whole_at_40_columns(operator_drills: Path) -> None:
    run = operator_drills / "as-coded-retry-defect"
    (row,) = read(run / "dead-letters.json")["rows"]
    done = beamdrill("trace", row["nonce"], "--run", run, env=NARROW)
    assert done.returncode == 0 and done.stderr == ""
    lines = done.stdout.splitlines()
    assert lines[:2] == [f"intent {row['nonce']}", "  partner-desk@northwind.beam.directory → "
                         f"finance@acme.beam.directory  purchase.preflight  (bus message {row['id']})"]


def test_a_whole_table_wraps_its_other_columns_first_then_runs_past_the_console() -> None:
    nonce = "1557a0085c1fead7e019a02e22982edc"
    table = WholeTable(title="dead letters")
    table.add_id_column("nonce")
    table.add_column("note")
    table.add_column("took", justify="right", no_wrap=True)
    table.add_row(nonce, "a note of several words", "1200 s")
    wide = Console(width=80, record=True, soft_wrap=True, file=io.StringIO())
    wide.print(table)
    assert wide.export_text().splitlines() == [
        f"{'dead letters':^71}",
        "┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━┓",
        "┃ nonce                            ┃ note                    ┃   took ┃",
        "┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━┩",
        f"│ {nonce} │ a note of several words │ 1200 s │",
        "└──────────────────────────────────┴─────────────────────────┴────────┘"]
    narrow = Console(width=20, record=True, soft_wrap=True, file=io.StringIO())
    narrow.print(table)
    assert narrow.export_text().splitlines() == [
        f"{'dead letters':^55}",
        "┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━┳━━━━━━━━┓",
        "┃ nonce                            ┃ note    ┃   took ┃",
        "┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━╇━━━━━━━━┩",
        f"│ {nonce} │ a note  │ 1200 s │",
        "│                                  │ of      │        │",
        "│                                  │ several │        │",
        "│                                  │ words   │        │",
        "└──────────────────────────────────┴─────────┴────────┘"]
