"""Every option of ``beamdrill run`` is checked before the run starts: a bad one is one
line naming the option (or file and field) and what was expected, exit code 2, no
traceback, and nothing written at ``--out``."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from drills.cli import app

REPO = Path(__file__).resolve().parent.parent
DEMO = str(REPO / "scenarios" / "demo.yaml")
HEAVY = "name: heavy\nduration: 1d\nagents: [{id: a@x.beam}, {id: b@x.beam}]\n" \
        "traffic: {routes: [{from: a@x.beam, to: b@x.beam, intent: ping, rate: 10000/s}]}\n"


def cases(tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a directory\n")
    heavy = tmp_path / "heavy.yaml"
    heavy.write_text(HEAVY)
    line = "(command line): "
    return {
        "endpoint not a URL": (["--otlp-endpoint", "notaurl"],
                               line + "--otlp-endpoint: expected an http:// or https:// URL, found 'notaurl'"),
        "endpoint of another scheme": (["--otlp-endpoint", "ftp://x/v1/traces"],
                                       line + "--otlp-endpoint: expected an http:// or https:// URL, found "
                                              "'ftp://x/v1/traces'"),
        "scrape interval zero": (["--metrics", "--scrape-interval", "0"],
                                 line + "--scrape-interval: expected a positive duration, found '0'"),
        "scrape interval not a duration": (["--metrics", "--scrape-interval", "often"],
                                           line + "--scrape-interval: expected a duration like 250ms, 30s, 5m, "
                                                  "1h30m or a number of seconds, found 'often'"),
        "until beyond a year": (["--until", "400d"],
                                line + "--until: expected a duration of at most 366d (31622400 s), found '400d'"),
        "negative seed": (["--seed", "-1"], line + "--seed: expected a non-negative integer, found -1"),
        "epoch not a time": (["--epoch", "soon"], line + "--epoch: expected an ISO 8601 time like "
                                                         "2026-04-03T08:00:00Z, 'today' or 'yesterday', found 'soon'"),
        "traces mode unknown": (["--traces", "most"], line + "--traces: expected 'all', 'failed' or "
                                                             "'sampled:FRACTION' with 0 <= FRACTION <= 1 (e.g. "
                                                             "sampled:0.1), found 'most'"),
        "out is a file": (["--out", str(a_file)], f"{a_file}: --out: expected a directory, found a file"),
        "out below a file": (["--out", str(a_file / "run")],
                             f"{a_file / 'run'}: --out: expected a directory, found a file at {a_file}"),
        "out in /proc": (["--out", "/proc/beamdrill-run"],
                         "/proc/beamdrill-run: --out: expected a directory that can be written, found no such file "
                         "or directory"),
        "a run far too large": (["--scenario", str(heavy)],
                                f"{heavy}: traffic: expected at most 20,000,000 intents without --allow-large, found "
                                "about 864,000,000 in 86400 virtual s (rates x duration x daily profile and bursts)"),
    }


@pytest.mark.parametrize("name", ["endpoint not a URL", "endpoint of another scheme", "scrape interval zero",
                                  "scrape interval not a duration", "until beyond a year", "negative seed",
                                  "epoch not a time", "traces mode unknown", "out is a file", "out below a file",
                                  "out in /proc", "a run far too large"])
def test_a_bad_option_is_one_line_and_exit_2_before_anything_runs(tmp_path: Path, name: str) -> None:
    options, line = cases(tmp_path)[name]
    scenario = DEMO
    if options[0] == "--scenario":
        scenario, options = options[1], options[2:]
    if "--out" not in options:
        options = [*options, "--out", str(tmp_path / "out")]
    result = CliRunner().invoke(app, ["run", scenario, *options])
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [line]
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not (tmp_path / "out").exists()
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".")]


def test_allow_large_lets_a_large_run_start(tmp_path: Path) -> None:
    heavy = tmp_path / "heavy.yaml"
    heavy.write_text(HEAVY)
    result = CliRunner().invoke(app, ["run", str(heavy), "--allow-large", "--until", "1s", "--out",
                                      str(tmp_path / "out")])
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "out" / "result.json").is_file()
