"""Beam's go-live checklist (beam-model §10, §12) on the partner requests a run's scenario
declares: each of the six prerequisites its plan leaves open is a blocker, as the world
recorded it on the request (``blockedPrerequisites`` in partner-requests.json), with the
request's owner and the next action that closes it; then the exit conditions: no blocked
prerequisite, the first live requests visible in traces (a trace from the plan's sender to
its receiver), the proof recap sent, and the next decision recorded (expand, narrow or pause).
"""

from __future__ import annotations

import json
from typing import Any, Final

from drills.gate.checks import TRACES, Blocker, Finding, oncall_owner, run_facts
from drills.gate.evidence import Evidence, RunEvidence
from simulator.scenario.readiness import PREREQUISITE_ACTIONS, PartnerRequestSpec, missing_prerequisites

PARTNER_REQUESTS: Final[str] = "partner-requests.json"


def _recorded(run: RunEvidence) -> dict[str, Any]:
    """The requests in partner-requests.json by email (empty when the run wrote none)."""
    if not run.has(PARTNER_REQUESTS):
        return {}
    document = json.loads(run.path(PARTNER_REQUESTS).read_text(encoding="utf-8"))
    return {str(request.get("email")): request for request in document.get("requests", []) if isinstance(request, dict)}


def _request_findings(evidence: Evidence, run: RunEvidence, spec: PartnerRequestSpec,
                      recorded: dict[str, Any]) -> Finding:
    email = spec.email.strip().lower()
    owner = spec.owner or oncall_owner(evidence)
    record = recorded.get(email)
    source = str(run.path(PARTNER_REQUESTS) if record is not None else run.path("result.json"))
    missing = missing_prerequisites(spec.go_live)
    blocked = list(record.get("blockedPrerequisites", [])) if record is not None else missing
    finding = Finding("", [source])
    name = f"partner request {spec.company or email}"
    for key in dict.fromkeys([*blocked, *missing]):
        finding.blockers.append(Blocker(check=f"go_live.{key}", reason=f"{name}: go-live prerequisite {key} is "
                                        "blocked", evidence=source, owner=owner, next_action=PREREQUISITE_ACTIONS[key]))
    plan = spec.go_live
    if plan.sender and plan.receiver:
        if not (run.has("events.jsonl") and run.has(TRACES)):
            finding.blockers.append(Blocker(check="go_live.first_live_requests", reason=f"{name}: the run has no "
                                            "traces to show the first live requests", evidence=str(run.directory),
                                            owner=owner, next_action="run again with --events --traces all"))
        elif not run_facts(evidence, run)[1].pairs[(plan.sender, plan.receiver)]:
            finding.blockers.append(Blocker(
                check="go_live.first_live_requests", reason=f"{name}: no trace from {plan.sender} to {plan.receiver}",
                evidence=str(run.path(TRACES)), owner=owner,
                next_action=f"send the first live request from {plan.sender} to {plan.receiver}"))
    if not plan.proof_recap_sent:
        finding.blockers.append(Blocker(check="go_live.proof_recap_sent", reason=f"{name}: the proof recap has not "
                                        "been sent", evidence=source, owner=owner,
                                        next_action="send the proof recap to the proof recipients"))
    if plan.next_decision is None:
        finding.blockers.append(Blocker(check="go_live.next_decision", reason=f"{name}: no next decision recorded",
                                        evidence=source, owner=owner,
                                        next_action="record the next decision: expand, narrow or pause"))
    finding.detail = (f"{name}: {6 - len(missing)} of 6 prerequisites confirmed"
                      + (f", next decision {plan.next_decision}" if plan.next_decision else ""))
    return finding


def go_live_checklist(evidence: Evidence) -> list[Finding]:
    """One finding per declared partner request, or one blocker when no run declares any."""
    findings = [_request_findings(evidence, run, spec, _recorded(run))
                for run in evidence.runs for spec in run.scenario.partner_requests]
    if findings:
        return findings
    return [Finding("no partner request with a go-live plan", [], [Blocker(
        check="go_live", reason="no run's scenario declares a partner request with its go-live plan",
        evidence=", ".join(str(run.path("result.json")) for run in evidence.runs) or "(none)",
        owner=oncall_owner(evidence), next_action="declare the partner request and its go_live plan in the scenario")])]
