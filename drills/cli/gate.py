"""``beamdrill gate POLICY.yaml --evidence DIR [DIR ...]``: is the rollout ready? Every
requirement, rollout-mode rule, block condition and go-live prerequisite computed from the
evidence; exit 0 ready, 1 blocked, 2 bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from drills.cli.app import app
from drills.cli.console import console, fail_input, json_option, print_json
from drills.gate import evaluate_gate, load_policy, markdown
from drills.runs.files import atomic_write_text, write_json
from simulator import InputError, Problem


@app.command(epilog="Example: beamdrill gate drills/gate/examples/policy.yaml --evidence runs/launch "
                    "runs/drills runs/canary --out runs/gate")
def gate(
    policy_file: Annotated[Path, typer.Argument(metavar="POLICY", help="Rollout checklist policy YAML file.")],
    evidence: Annotated[Optional[list[Path]], typer.Option(
        "--evidence", metavar="DIR", help="Result directories of beamdrill run, drill run and canary; "
                                          "--evidence DIR [DIR ...].")] = None,
    more: Annotated[Optional[list[Path]], typer.Argument(metavar="[DIR ...]", help="More evidence directories.",
                                                         show_default=False)] = None,
    out: Annotated[Optional[Path], typer.Option(help="Also write gate.json and gate.md into this directory.")] = None,
    as_json: Annotated[bool, json_option("the gate's report")] = False,
) -> None:
    """Check a rollout checklist policy against evidence and print ready or blocked, with
    every blocker's reason, evidence file, owner and next action. Exit 0 ready, 1 blocked,
    2 bad input."""
    if not evidence:
        fail_input([Problem(file="(command line)", field="--evidence",
                            message="expected at least one result directory")])
    try:
        policy = load_policy(policy_file)
        report = evaluate_gate(policy, policy_file, [*(evidence or []), *(more or [])])
    except InputError as error:
        fail_input(error.problems)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "gate.json", report.model_dump(mode="json"))
        atomic_write_text(out / "gate.md", markdown(report))
    if as_json:
        print_json(report.model_dump(mode="json"))
    else:
        console.print(markdown(report), markup=False, highlight=False, end="")
    if report.verdict == "blocked":
        raise typer.Exit(1)
