"""Each requirement, rollout-mode rule and block condition of the checklist, computed from
evidence (never asserted by hand): a :class:`Finding` saying what was found, where, and the
blockers it raises (each with its reason, evidence file, owner and next action)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from drills.drillfile.builtin import builtin_drills
from drills.gate.evidence import (Evidence, EventFacts, RunEvidence, TraceFacts, event_facts, json_lines,
                                  trace_facts)
from drills.gate.policy import RolloutMode
from simulator import InputError, World, parse_scenario
from simulator.scenario.readiness import CapabilitySpec
from simulator.kernel.fields import Model

#: Who owns a blocker when the evidence names nobody.
UNASSIGNED: Final[str] = "unassigned"
EVENTS: Final[str] = "events.jsonl"
TRACES: Final[str] = "traces.otlp.jsonl"
#: "If you can't roll back in 5 minutes, you're not ready."
ROLLBACK_LIMIT_SECONDS: Final[float] = 300.0


class Blocker(Model):
    """One reason the rollout may not start: why, the evidence file it came from, who owns
    it and the next action that clears it."""

    check: str
    reason: str
    evidence: str
    owner: str
    next_action: str


@dataclass
class Finding:
    """What one check found (a line a person reads), in which files, and its blockers."""

    detail: str
    evidence: list[str] = field(default_factory=list)
    blockers: list[Blocker] = field(default_factory=list)


def oncall_owner(evidence: Evidence) -> str:
    """The on-call owner the runs' scenarios name (the first), who owns blockers no one else does."""
    for run in evidence.runs:
        if run.scenario.operations is not None and run.scenario.operations.oncall_owner:
            return run.scenario.operations.oncall_owner
    return UNASSIGNED


def _no_runs(check: str, evidence: Evidence, what: str) -> Finding:
    return Finding(f"no run evidence to read {what} from", [], [Blocker(
        check=check, reason=f"no beamdrill run result directory among the evidence, so {what} cannot be shown",
        evidence="(none)", owner=oncall_owner(evidence),
        next_action="run the scenario with beamdrill run SCENARIO --events --traces all --out DIR and pass DIR")])


def run_facts(evidence: Evidence, run: RunEvidence) -> tuple[EventFacts, TraceFacts]:
    """The run's events and traces, read once per gate evaluation."""
    if run.directory not in evidence.facts:
        evidence.facts[run.directory] = (event_facts(run.path(EVENTS)), trace_facts(run.path(TRACES)))
    return evidence.facts[run.directory]


def _traced_runs(check: str, evidence: Evidence, what: str) -> tuple[list[RunEvidence], Finding | None]:
    """The runs with both events and traces, or the finding that blocks for want of them."""
    if not evidence.runs:
        return [], _no_runs(check, evidence, what)
    missing = [run for run in evidence.runs if not (run.has(EVENTS) and run.has(TRACES))]
    if missing:
        return [], Finding(f"{len(missing)} run(s) without {EVENTS} and {TRACES}",
                           [str(run.directory) for run in missing],
                           [Blocker(check=check, reason=f"the run wrote no {EVENTS} or no {TRACES}, so {what} "
                                    "cannot be shown", evidence=str(run.directory / "result.json"),
                                    owner=oncall_owner(evidence), next_action="run again with --events --traces all")
                            for run in missing])
    return evidence.runs, None


def trace_coverage(evidence: Evidence) -> Finding:
    """Every accepted intent (admitted into a lifecycle in events.jsonl) has a trace with its
    key spans: the root ``send`` span, a ``check`` span when it was relayed and a ``deliver``
    span when the bus attempted it."""
    runs, blocked = _traced_runs("trace_coverage", evidence, "trace coverage")
    if blocked is not None:
        return blocked
    finding = Finding("", [str(run.path(TRACES)) for run in runs])
    covered = accepted = 0
    for run in runs:
        events, traces = run_facts(evidence, run)
        gaps: list[str] = []
        for nonce in events.admitted:
            spans = traces.spans.get(nonce)
            lacking = [name for name, needed in (("send", True), ("check", events.relays[nonce] > 0),
                                                 ("deliver", events.attempts[nonce] > 0))
                       if needed and not (spans and spans[name])]
            if lacking:
                gaps.append(f"{nonce} (no {', '.join(lacking)} span)")
        accepted += len(events.admitted)
        covered += len(events.admitted) - len(gaps)
        if gaps:
            finding.blockers.append(Blocker(
                check="trace_coverage", reason=f"{len(gaps)} of {len(events.admitted)} accepted intents lack a trace "
                f"with their key spans, first {gaps[0]}", evidence=str(run.path(TRACES)),
                owner=oncall_owner(evidence), next_action="record every intent's trace (--traces all) and rerun"))
    finding.detail = f"{covered} of {accepted} accepted intents traced with their key spans"
    return finding


def policy_decisions_traced(evidence: Evidence) -> Finding:
    """Every Shield decision, retry-budget refusal and breaker rejection in events.jsonl has
    its span attribute (``beam.shield.decision``, ``beam.retry_budget.refused``,
    ``beam.circuit_breaker.state``) in the nonce's trace."""
    runs, blocked = _traced_runs("policy_decisions_not_traced", evidence, "policy decisions traced")
    if blocked is not None:
        return blocked
    finding = Finding("", [str(run.path(EVENTS)) for run in runs])
    decisions = untraced = 0
    for run in runs:
        events, traces = run_facts(evidence, run)
        missing: list[str] = []
        for label, made, traced in (("Shield decision", events.shield, traces.shield),
                                    ("retry-budget refusal", events.budget, traces.budget),
                                    ("breaker rejection", events.breaker, traces.breaker)):
            for nonce, count in made.items():
                decisions += count
                if traced[nonce] < count:
                    untraced += count - traced[nonce]
                    missing.append(f"{label} on {nonce}")
        if missing:
            finding.blockers.append(Blocker(
                check="policy_decisions_not_traced", reason=f"{len(missing)} policy decision(s) without a span "
                f"attribute, first the {missing[0]}", evidence=str(run.path(EVENTS)), owner=oncall_owner(evidence),
                next_action="record every intent's trace (--traces all) so each decision carries its attribute"))
    finding.detail = f"{decisions - untraced} of {decisions} policy decisions carry their span attribute"
    return finding


def _sends(run: RunEvidence) -> list[tuple[str, str, str, str]]:
    """(label, sender, recipient, intent) of every traffic route, then of every other send
    the run's events.jsonl relayed (the workflows' hops, a drill's sends)."""
    sends = {(route.sender, route.recipient, route.intent): route.label for route in run.scenario.traffic.routes}
    if run.has(EVENTS):
        for event in json_lines(run.path(EVENTS)):
            if event.get("kind") == "relay":
                key = (str(event.get("sender")), str(event.get("recipient")), str(event.get("intent")))
                sends.setdefault(key, f"{key[0]}->{key[1]}:{key[2]}")
    return [(label, *key) for key, label in sends.items()]


def policy_prechecks(evidence: Evidence) -> Finding:
    """Each run's scenario passes the world's policy checks again, and every send (traffic
    routes, and whatever else the run relayed) is admitted by an ACL row (Beam's ACL refuses
    an intent without one)."""
    if not evidence.runs:
        return _no_runs("policy_prechecks", evidence, "policy prechecks")
    finding = Finding("", [str(run.path("result.json")) for run in evidence.runs])
    total = 0
    for run in evidence.runs:
        source = str(run.path("result.json"))
        try:
            parse_scenario(run.scenario.model_dump(mode="json", by_alias=True), source)
        except InputError as error:
            finding.blockers.append(Blocker(check="policy_prechecks", reason=f"the scenario fails the policy checks: "
                                            f"{error.problems[0].line()}", evidence=source,
                                            owner=oncall_owner(evidence), next_action="fix the scenario's policies"))
            continue
        world = World(run.scenario)
        for label, sender, recipient, intent in _sends(run):
            total += 1
            if not world.acl_allows(recipient, intent, sender):
                finding.blockers.append(Blocker(
                    check="policy_prechecks", reason=f"{label} has no ACL row: Beam refuses it with FORBIDDEN",
                    evidence=source, owner=oncall_owner(evidence),
                    next_action=f"add an ACL row: target {recipient}, intent {intent}, allowed_from {sender}"))
    finding.detail = f"{total - len(finding.blockers)} of {total} sends admitted by an ACL row"
    return finding


def capability_owners(evidence: Evidence) -> Finding:
    """The scenario has a capability template and every capability in it has an owner."""
    if not evidence.runs:
        return _no_runs("capability_owners", evidence, "capability owners")
    return _capability_check(
        evidence, "capability_owners", lambda capability: not capability.owner, "has no owner",
        lambda capability: f"name the owner of {capability.capability} on {capability.agent}",
        lambda total, blocked: f"{total - blocked} of {total} capabilities have an owner", template_required=True)


def offline_eval_pass(evidence: Evidence) -> Finding:
    """A drill run holds every built-in drill, each completed."""
    if not evidence.drill_runs:
        return Finding("no drill run among the evidence", [], [Blocker(
            check="offline_eval_pass", reason="no beamdrill drill run result among the evidence",
            evidence="(none)", owner=oncall_owner(evidence),
            next_action="run beamdrill drill run --all --out DIR and pass DIR")])
    wanted = [path.stem for path in builtin_drills()]
    verdicts = {verdict.drill: verdict.verdict for run in evidence.drill_runs for verdict in run.summary.drills}
    source = str(evidence.drill_runs[-1].directory / "summary.json")
    finding = Finding("", [str(run.directory / "summary.json") for run in evidence.drill_runs])
    for name in wanted:
        verdict = verdicts.get(name)
        if verdict != "completed":
            finding.blockers.append(Blocker(
                check="offline_eval_pass", reason=f"built-in drill {name} " + (
                    "was not run" if verdict is None else f"ended {verdict}"),
                evidence=source, owner=oncall_owner(evidence), next_action=f"run beamdrill drill run {name} and fix "
                "what it finds"))
    finding.detail = f"{len(wanted) - len(finding.blockers)} of {len(wanted)} built-in drills completed"
    return finding


def slo_defined(evidence: Evidence) -> Finding:
    """The scenario defines an availability and a latency objective, each with a multi-window
    burn-rate alert."""
    if not evidence.runs:
        return _no_runs("slo_defined", evidence, "SLOs")
    finding = Finding("", [str(run.path("result.json")) for run in evidence.runs])
    for run in evidence.runs:
        for kind in ("availability", "latency"):
            objectives = [slo for slo in run.scenario.slos if slo.kind == kind]
            if not objectives:
                reason = f"the scenario defines no {kind} objective"
            elif not any(slo.burn_rate_alerts for slo in objectives):
                reason = f"the {kind} objective {objectives[0].name} has no multi-window burn-rate alert"
            else:
                continue
            finding.blockers.append(Blocker(check="slo_defined", reason=reason, evidence=str(run.path("result.json")),
                                            owner=oncall_owner(evidence), next_action=f"define a {kind} objective with "
                                            "a burn-rate alert (long and short window) in the scenario's slos"))
    names = sorted({slo.name for run in evidence.runs for slo in run.scenario.slos})
    finding.detail = f"objectives: {', '.join(names) or 'none'}"
    return finding


def _canary_missing(check: str, evidence: Evidence) -> Finding:
    return Finding("no canary result among the evidence", [], [Blocker(
        check=check, reason="no beamdrill canary result among the evidence", evidence="(none)",
        owner=oncall_owner(evidence), next_action="run beamdrill canary ROLLOUT.yaml --out DIR and pass DIR")])


def rollback_plan(evidence: Evidence) -> Finding:
    """A canary result whose rollback completed within 5 minutes."""
    if not evidence.canaries:
        return _canary_missing("rollback_plan", evidence)
    rolled = [canary for canary in evidence.canaries if canary.result.rollback is not None]
    good = [canary for canary in rolled if canary.result.rollback and canary.result.rollback.completed_within_5_minutes]
    if good:
        seconds = good[0].result.rollback.seconds if good[0].result.rollback else None
        took = f" in {seconds:g} s" if seconds is not None else ""
        return Finding(f"rollback completed{took}, within 5 minutes", [str(good[0].directory / "result.json")])
    source = str((rolled or evidence.canaries)[0].directory / "result.json")
    reason = ("no canary result shows a rollback" if not rolled
              else "the canary's rollback did not complete within 5 minutes")
    return Finding(reason, [source], [Blocker(
        check="rollback_plan", reason=reason, evidence=source, owner=oncall_owner(evidence),
        next_action="rehearse a rollback with beamdrill canary (a harmful change) until it completes "
                    "within 5 minutes")])


def rollout_mode(evidence: Evidence, mode: RolloutMode) -> Finding:
    """The canary's rollout starts with a canary step exposing at most the policy's share of
    tenants, after a shadow period when the policy requires one. The rollout being launched is
    the one that did not roll back; a rollback rehearsal is evidence for ``rollback_plan`` only,
    unless every canary result rolled back."""
    if not evidence.canaries:
        return _canary_missing("rollout_mode", evidence)
    launched = [canary for canary in evidence.canaries if canary.result.rollback is None] or evidence.canaries
    finding = Finding("", [str(canary.directory / "result.json") for canary in launched])
    details = []
    for canary in launched:
        source = str(canary.directory / "result.json")
        rollout = canary.result.rollout
        exposure = rollout.first_exposure_pct()
        details.append(f"first step {exposure if exposure is not None else '?'} %"
                       f"{', shadow period' if rollout.has_shadow_period() else ''}")

        def block(reason: str, action: str, where: str = source) -> None:
            finding.blockers.append(Blocker(check="rollout_mode", reason=reason, evidence=where,
                                            owner=oncall_owner(evidence), next_action=action))

        if not rollout.starts_with_canary():
            block("the rollout does not start with a canary step", "make the first exposing step a canary step")
        if exposure is None or exposure > mode.max_tenant_exposure_pct:
            block(f"the first canary step exposes {exposure if exposure is not None else 'an unknown share'} % of "
                  f"tenants, more than {mode.max_tenant_exposure_pct:g} %",
                  f"expose at most {mode.max_tenant_exposure_pct:g} % of tenants in the first step")
        if mode.require_shadow_period and not rollout.has_shadow_period():
            block("the rollout has no shadow period", "add a shadow step before the first canary step")
    finding.detail = "; ".join(details)
    return finding


def unknown_side_effect_path_missing(evidence: Evidence) -> Finding:
    """Blocks when a capability of the template names no path for an unknown side effect."""
    return _capability_check(
        evidence, "unknown_side_effect_path_missing", lambda capability: not capability.unknown_side_effect_path,
        "names no path for an unknown side effect",
        lambda capability: f"write down what happens when {capability.capability} may have acted but did not "
                           "answer (reconcile, compensate or escalate)",
        lambda total, blocked: f"{total - blocked} of {total} capabilities name an unknown side-effect path")


def direct_tool_access_present(evidence: Evidence) -> Finding:
    """Blocks when a capability of the template is reached directly (transport ``direct``),
    not through Beam."""
    return _capability_check(
        evidence, "direct_tool_access_present", lambda capability: capability.transport == "direct",
        "is reached directly, not through Beam",
        lambda capability: f"route {capability.capability} through Beam (ws, http or bus)",
        lambda _total, blocked: f"{blocked} capabilities reached directly")


def _capability_check(evidence: Evidence, check: str, flagged: Callable[[CapabilitySpec], bool], flaw: str,
                      next_action: Callable[[CapabilitySpec], str], detail: Callable[[int, int], str],
                      template_required: bool = False) -> Finding:
    """A check of every capability of the runs' templates: a blocker for each one ``flagged``
    ("capability C of A ``flaw``", owned by the capability's owner, else the on-call owner),
    and, when ``template_required``, for each run whose scenario has no template. The
    finding's detail is ``detail(capabilities, blockers)``."""
    finding = Finding("", [str(run.path("result.json")) for run in evidence.runs])
    total = 0
    for run in evidence.runs:
        source = str(run.path("result.json"))
        if template_required and not run.scenario.capabilities:
            finding.blockers.append(Blocker(
                check=check, reason="the scenario has no capability template", evidence=source,
                owner=oncall_owner(evidence), next_action="answer the seven questions per agent capability in the "
                "scenario's capabilities"))
        for capability in run.scenario.capabilities:
            total += 1
            if flagged(capability):
                finding.blockers.append(Blocker(
                    check=check, reason=f"capability {capability.capability} of {capability.agent} {flaw}",
                    evidence=source, owner=capability.owner or oncall_owner(evidence),
                    next_action=next_action(capability)))
    finding.detail = detail(total, len(finding.blockers))
    return finding


def oncall(evidence: Evidence) -> Finding:
    """The scenario's operations block names an on-call owner."""
    if not evidence.runs:
        return _no_runs("oncall_owner", evidence, "the on-call owner")
    owner = oncall_owner(evidence)
    sources = [str(run.path("result.json")) for run in evidence.runs]
    if owner != UNASSIGNED:
        return Finding(f"on call: {owner}", sources)
    return Finding("no on-call owner", sources, [Blocker(
        check="oncall_owner", reason="the scenario's operations block names no on-call owner", evidence=sources[0],
        owner=UNASSIGNED, next_action="name the on-call owner in the scenario's operations.oncall_owner")])


#: Each requirement's check.
REQUIREMENT_CHECKS: Final[dict[str, Callable[[Evidence], Finding]]] = {
    "trace_coverage": trace_coverage, "policy_prechecks": policy_prechecks, "capability_owners": capability_owners,
    "offline_eval_pass": offline_eval_pass, "slo_defined": slo_defined, "rollback_plan": rollback_plan,
    "oncall_owner": oncall,
}
#: Each block condition's check (its blockers are the condition holding).
BLOCK_CHECKS: Final[dict[str, Callable[[Evidence], Finding]]] = {
    "unknown_side_effect_path_missing": unknown_side_effect_path_missing,
    "direct_tool_access_present": direct_tool_access_present,
    "policy_decisions_not_traced": policy_decisions_traced,
}
