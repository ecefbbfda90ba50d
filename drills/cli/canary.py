"""``beamdrill canary ROLLOUT``: run a canary rollout in virtual time and judge it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from drills.cli.app import app
from drills.cli.console import console, fail_input, json_option, print_json
from drills.runs.ending import unfinished_exit_code
from drills.runs.files import write_json
from drills.runs.interrupt import Interrupted, stop_on_signals
from drills.runs.resultdir import OutError, ResultDirectory
from drills.runs.runner import Outputs, run_world
from simulator import InputError, Problem, Summary, World
from simulator.telemetry.ids import trace_id
from simulator.telemetry.sampling import parse_sampling

if TYPE_CHECKING:
    from drills.canary.runner import RolloutRun

#: The scrape interval of the run's metrics.om, in virtual seconds.
SCRAPE_INTERVAL = 15.0
#: Exit codes by decision.
EXIT_CODES = {"Successful": 0, "Failed": 1, "Inconclusive": 1}


@app.command(epilog="Example: beamdrill canary assistant-v3-slow --seed 3 --out runs/canary/slow")
def canary(
    rollout_file: Annotated[str, typer.Argument(metavar="ROLLOUT", help="Rollout YAML file, or a built-in "
                                                "rollout's name (assistant-v2-harmless, assistant-v3-slow, "
                                                "assistant-pilot-too-small, bus-aggressive-retries).")],
    seed: Annotated[Optional[int], typer.Option(help="Root seed (default: the rollout's seed, else its "
                                                     "scenario's).")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Result directory (default runs/canary/NAME).")] = None,
    telemetry: Annotated[bool, typer.Option("--telemetry/--no-telemetry", help="Write metrics.om (with the cohort "
                                            "series) and traces.otlp.jsonl (every intent, a beamdrill.cohort "
                                            "span attribute).")] = True,
    as_json: Annotated[bool, json_option("DIR/result.json")] = False,
) -> None:
    """Run a canary rollout: warm the world up, then each step (shadow, canary weights,
    pauses), judging every analysis interval with Kayenta's judge and Flagger's checks;
    promote, pause on Inconclusive, roll back on Failed. Writes result.json, report.md,
    chart.png and the run's telemetry (metrics.om with cohort series, traces.otlp.jsonl
    with a beamdrill.cohort span attribute, audit, alerts, inbox, dead letters).

    Exit code 0 Successful, 1 Failed or Inconclusive, 2 bad input; SIGINT or SIGTERM
    stops at the virtual time reached and still writes every file."""
    # The canary package brings in SciPy (the judge): imported only when this command runs.
    from drills.canary.builtin import resolve_rollout
    from drills.canary.rollout import load_rollout, scenario_path
    from drills.canary.runner import run_steps, start
    from drills.canary.telemetry import cohort_series
    if seed is not None and seed < 0:
        fail_input([Problem(file="(command line)", field="--seed", message=f"expected a non-negative integer, "
                                                                           f"found {seed}")])
    found = resolve_rollout(rollout_file)
    if isinstance(found, Problem):
        fail_input([found])
        return
    try:
        rollout = load_rollout(found)
    except InputError as error:
        fail_input(error.problems)
        return
    target = out if out is not None else Path("runs/canary") / rollout.rollout.name
    try:
        directory = ResultDirectory(target)
    except OutError as error:
        fail_input(error.problems)
        return
    chosen = seed if seed is not None else rollout.rollout.seed
    run = start(rollout, rollout.scenario.seed if chosen is None else chosen)
    outputs = Outputs(out=directory.staging)
    if telemetry:
        outputs = Outputs(out=directory.staging, scrape_interval=SCRAPE_INTERVAL, sampling=parse_sampling("all"),
                          traces_file=True, more_metrics=lambda epoch_s: cohort_series(run.intervals, epoch_s,
                                                                         run.rollback))
    try:
        with stop_on_signals() as stop:
            def drive(world: World, _end: float) -> Summary:
                run_steps(run, stop.check)
                return world.summary()
            report = run_world(run.world, scenario_path(rollout.rollout.scenario, found), rollout.rollout.length,
                               outputs, drive)
        _write(run, directory.staging, report.files, None if report.interrupted is None else report.interrupted.name)
    finally:
        directory.publish()
    result = json.loads((target / "result.json").read_text(encoding="utf-8"))
    if as_json:
        print_json(result)
    else:
        console.print(f"{rollout.rollout.name}: [bold]{result['decision']}[/bold]: {result['reason']}", highlight=False)
        rollback = result["rollback"]
        if rollback is not None:
            fit = "within" if rollback["completed_within_5_minutes"] else "NOT within"
            console.print(f"rollback complete {rollback['seconds']:g} s after the first harmful interval "
                          f"({fit} {rollback['limit_seconds']:g} s)", highlight=False)
        blast = result["blast_radius"]
        console.print(f"blast radius: {blast['intents']} intents, {len(blast['tenants'])} tenants, "
                      f"{blast['failed']} failed, {blast['dead_lettered']} dead-lettered", highlight=False)
    print(f"wrote result.json, report.md, chart.png, {', '.join(f for f in report.files if f != 'result.json')} "
          f"{directory.note()}", file=sys.stderr)
    code = unfinished_exit_code(report, f"t={run.world.now:g}s", target)
    if code is not None:
        raise typer.Exit(code)
    raise typer.Exit(EXIT_CODES[result["decision"]])


def _write(run: RolloutRun, out: Path, files: list[str], interrupted: str | None) -> None:
    """Replace the run's result.json by the rollout's (the run's own under ``run``), and
    write report.md and chart.png; label the traces by cohort."""
    from drills.canary.chart import write_chart
    from drills.canary.report import report_text
    from drills.canary.runner import result_of
    from drills.canary.telemetry import label_traces

    seed = run.world.seed
    cohorts = {trace_id(seed, nonce): "shadowed" for nonce in run.shadowed_nonces}
    cohorts.update({trace_id(seed, nonce): "canary" for nonce in run.served})
    label_traces(out / "traces.otlp.jsonl", cohorts)
    names = [*files, "report.md", "chart.png"]
    result = result_of(run, names, interrupted)
    document = result.model_dump(mode="json")
    run_file = out / "result.json"
    if run_file.is_file():
        document["run"] = json.loads(run_file.read_text(encoding="utf-8"))
    write_json(run_file, document)
    (out / "report.md").write_text(report_text(result), encoding="utf-8")
    write_chart(result, out / "chart.png")


@app.command("canary-power", epilog="Example: beamdrill canary-power assistant-v3-slow assistant-v2-harmless "
                                    "--replications 20 --out runs/canary/power; the same runs as a sweep: "
                                    "beamdrill sweep judge-power")
def canary_power(
    rollout_files: Annotated[list[str], typer.Argument(metavar="ROLLOUT...", help="Rollout YAML files or built-in "
                                                       "rollouts' names.")],
    replications: Annotated[int, typer.Option(help="Seeds per rollout: SEED, SEED+1, ...")] = 20,
    seed: Annotated[int, typer.Option(help="The first seed.")] = 1,
    out: Annotated[Path, typer.Option(help="Output directory.")] = Path("runs/canary/power"),
    workers: Annotated[Optional[int], typer.Option(
        help="Worker processes (default: the CPUs; 1 runs in this process).")] = None,
    as_json: Annotated[bool, json_option("DIR/power.json")] = False,
) -> None:
    """The judge's power: run each rollout once per seed (no telemetry) and count how often
    its change was caught at the first canary step, failed, was Inconclusive or promoted,
    and rolled back within its limit, with Wilson 95 % intervals.

    A front door to `beamdrill sweep`: it writes DIR/power-sweep.yaml (a rollout sweep with
    one axis, the rollouts, and study judge-power), runs it as `beamdrill sweep` does
    (checkpointed, on a process pool) and writes the sweep's files (report.md, summary.json,
    cells.jsonl, cells.csv) plus power.json and power.md. Exit 0 when every run finished,
    1 when a run failed, 2 bad input."""
    import os

    import yaml

    from drills.canary.builtin import ROLLOUTS, resolve_rollout
    from drills.canary.power import power_rows, power_text
    from drills.canary.rollout import load_rollout
    from drills.sweep.executors import executor_for
    from drills.sweep.grid import load_plan
    from drills.sweep.run import run_sweep

    problems = []
    if not 1 <= replications <= 1000:
        problems.append(Problem(file="(command line)", field="--replications",
                                message=f"expected 1 to 1000, found {replications}"))
    if seed < 0:
        problems.append(Problem(file="(command line)", field="--seed",
                                message=f"expected a non-negative integer, found {seed}"))
    if workers is not None and workers < 1:
        problems.append(Problem(file="(command line)", field="--workers", message=f"expected at least 1, found {workers}"))
    values, labels = [], []
    for name in rollout_files:
        found = resolve_rollout(name)
        if isinstance(found, Problem):
            problems.append(found)
            continue
        try:
            loaded = load_rollout(found)
        except InputError as error:
            problems += error.problems
            continue
        builtin = found.resolve().parent == ROLLOUTS.resolve()
        values.append(found.stem if builtin else str(found.resolve()))
        labels.append(loaded.rollout.name)
    if out.exists() and not out.is_dir():
        problems.append(Problem(file=str(out), field="--out", message="expected a directory, found a file"))
    if problems:
        fail_input(problems)
    sweep_file = out / "power-sweep.yaml"
    out.mkdir(parents=True, exist_ok=True)
    sweep_file.write_text(yaml.safe_dump({
        "name": "canary-power", "description": "The judge's power: written by beamdrill canary-power.",
        "seed": seed, "replications": replications, "study": "judge-power", "charts": False,
        "grid": [{"path": "rollout", "values": values, "labels": labels}]}, sort_keys=False), encoding="utf-8")
    try:
        plan = load_plan(sweep_file)
    except InputError as error:
        fail_input(error.problems)
    executor = executor_for(workers if workers is not None else (os.cpu_count() or 1), None)
    with stop_on_signals() as stop:
        outcome = run_sweep(plan, executor, out, resume=False, stop=stop)
    interrupted: Interrupted | None = outcome.interrupted
    rows = power_rows(plan, outcome.records)
    document = {"status": "completed" if interrupted is None else "interrupted", "seeds": plan.seeds,
                "rollouts": [row.model_dump(mode="json") for row in rows]}
    write_json(out / "power.json", document)
    (out / "power.md").write_text(power_text(rows, plan.seeds), encoding="utf-8")
    if as_json:
        print_json(document)
    else:
        for row in rows:
            caught = row.caught_at_first_step
            console.print(f"{row.rollout}: caught at the first canary step {caught.count}/{row.replications} "
                          f"[{caught.low:.0%}, {caught.high:.0%}], promoted {row.promoted.count}, "
                          f"inconclusive {row.inconclusive.count}", highlight=False)
    print(f"{outcome.ran} runs on {executor.name}; wrote power.json, power.md and the sweep's report.md in {out}",
          file=sys.stderr)
    if interrupted is not None:
        print(f"interrupted by {interrupted.name}: {len(outcome.records)} of {outcome.summary['runs_total']} runs "
              f"done; `beamdrill sweep {sweep_file} --out {out} --resume` runs the rest", file=sys.stderr)
        raise typer.Exit(interrupted.exit_code)
    if outcome.failed:
        raise typer.Exit(1)
