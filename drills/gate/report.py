"""The gate's verdict: every check with what it found, every blocker, as JSON (``gate.json``)
and Markdown (``gate.md``). Ready only when nothing blocks."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from drills.gate.checks import BLOCK_CHECKS, REQUIREMENT_CHECKS, Blocker, Finding, rollout_mode
from drills.gate.evidence import read_evidence
from drills.gate.golive import go_live_checklist
from drills.gate.policy import GatePolicy
from simulator.kernel.fields import Model

CheckKind = Literal["require", "rollout_mode", "block_if", "go_live"]


class CheckOutcome(Model):
    """One check: whether it passed, what it found, in which files."""

    check: str
    kind: CheckKind
    passed: bool
    detail: str
    evidence: list[str]


class GateReport(Model):
    """Ready or blocked, every check and every blocker."""

    verdict: Literal["ready", "blocked"]
    policy: str
    evidence: list[str]
    checks: list[CheckOutcome]
    blockers: list[Blocker]


def evaluate_gate(policy: GatePolicy, policy_file: Path, directories: list[Path]) -> GateReport:
    """Compute every check of ``policy`` and Beam's go-live checklist from the evidence in
    ``directories``; raise :class:`~drills.gate.evidence.EvidenceError` on unreadable evidence."""
    evidence = read_evidence(directories)
    checklist = policy.rollout
    named: list[tuple[CheckKind, str, Finding]] = [
        ("require", name, REQUIREMENT_CHECKS[name](evidence)) for name in dict.fromkeys(checklist.require)]
    if checklist.rollout_mode is not None:
        named.append(("rollout_mode", "rollout_mode", rollout_mode(evidence, checklist.rollout_mode)))
    named += [("block_if", name, BLOCK_CHECKS[name](evidence)) for name in dict.fromkeys(checklist.block_if)]
    named += [("go_live", "go_live", finding) for finding in go_live_checklist(evidence)]
    checks = [CheckOutcome(check=name, kind=kind, passed=not finding.blockers, detail=finding.detail,
                           evidence=finding.evidence) for kind, name, finding in named]
    blockers = [blocker for _, _, finding in named for blocker in finding.blockers]
    return GateReport(verdict="blocked" if blockers else "ready", policy=str(policy_file),
                      evidence=[str(directory) for directory in directories], checks=checks, blockers=blockers)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(report: GateReport) -> str:
    """gate.md: the verdict, the blockers table, then every check."""
    lines = [f"# Readiness gate: {report.verdict.upper()}", "",
             f"Policy `{report.policy}`; evidence {', '.join(f'`{item}`' for item in report.evidence)}.", ""]
    if report.blockers:
        lines += [f"## Blockers ({len(report.blockers)})", "", "| check | reason | evidence | owner | next action |",
                  "|---|---|---|---|---|"]
        lines += [f"| {_cell(b.check)} | {_cell(b.reason)} | `{_cell(b.evidence)}` | {_cell(b.owner)} | "
                  f"{_cell(b.next_action)} |" for b in report.blockers]
        lines.append("")
    lines += ["## Checks", "", "| check | kind | result | found |", "|---|---|---|---|"]
    lines += [f"| {_cell(c.check)} | {c.kind} | {'pass' if c.passed else 'BLOCKED'} | {_cell(c.detail)} |"
              for c in report.checks]
    return "\n".join(lines) + "\n"
