"""The runbook's order rules as checks (beam-model §9.5): each operator step is judged
against what has happened before it, and a broken rule is a :class:`Violation`.

- Requeue only after the root cause is fixed: no drill fault may still be active.
- Requeue only after an owner is recorded on every critical inbox item.
- Export the evidence before requeue or prune change what it would show.
- Fix a ``FORBIDDEN`` with the exact ACL entry, never by widening the ACL to ``*``.
"""

from __future__ import annotations

from drills.drillfile import steps
from drills.executor.actions import label
from drills.executor.context import DrillContext
from drills.executor.journal import Violation

ROOT_CAUSE_FIRST = "requeue before the root cause was fixed"
OWNER_FIRST = "requeue before an owner was recorded"
EVIDENCE_FIRST = "requeue or prune before the evidence was exported"
NO_WILDCARD = "ACL widened to '*' to fix a FORBIDDEN"


def _forbidden_seen(ctx: DrillContext) -> bool:
    return any(ctx.world.error_count("FORBIDDEN", path) for path in ("directory", "bus"))


def violations(ctx: DrillContext, step: steps.StepBase) -> list[Violation]:
    """The order rules ``step`` breaks if it is played now."""
    now, name = ctx.world.now, label(step)
    found: list[Violation] = []

    def broke(rule: str, detail: str) -> None:
        found.append(Violation(rule=rule, step=name, time=now, detail=detail))

    if isinstance(step, steps.RequeueDeadLetters):
        active = [fault.name or fault.kind for fault in ctx.world.revertible_faults()]
        if active:
            broke(ROOT_CAUSE_FIRST, f"still active: {', '.join(active)}")
        unowned = [item.source_key for item in ctx.world.inbox.items(source="critical_alert") if not item.owner]
        if unowned:
            broke(OWNER_FIRST, f"no owner on {', '.join(unowned)}")
    if isinstance(step, (steps.RequeueDeadLetters, steps.Prune)) and not ctx.done("export_evidence"):
        broke(EVIDENCE_FIRST, "no export_evidence step has run")
    if isinstance(step, steps.AddAclEntry) and "*" in (step.allowed_from, step.intent) and _forbidden_seen(ctx):
        broke(NO_WILDCARD, f"added {step.target} {step.intent} from {step.allowed_from} after FORBIDDEN failures")
    return found
