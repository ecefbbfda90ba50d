"""An intent's history as the runbook reads it, and the runbook's guidance for the state it
ended in (beam-model §9.5). The trace view (:mod:`drills.runs.traceview`) builds it from a
run's files, the drill probes (:mod:`drills.executor.observe`) from the live event stream.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel

SHIELD_CODES = ("RATE_LIMITED", "SHIELD_", "UNAUTHORIZED")


class Stage(BaseModel):
    """One lifecycle change of the intent on one path."""

    t: float
    path: str
    state: str
    code: str | None = None
    forced: bool = False


class IntentTrace(BaseModel):
    """Everything a run recorded about one nonce."""

    nonce: str
    epoch: datetime
    sender: str | None = None
    recipient: str | None = None
    intent: str | None = None
    message_id: str | None = None
    stages: list[Stage] = []
    attempts: list[dict[str, Any]] = []
    retries: list[dict[str, Any]] = []
    shield: list[dict[str, Any]] = []
    refusals: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    audit: list[dict[str, Any]] = []

    def final(self) -> dict[str, str]:
        """The last state on each path."""
        states: dict[str, str] = {}
        for stage in self.stages:
            states[stage.path] = stage.state
        return states

    def when(self, t: float) -> str:
        """Virtual time ``t`` as the operator's clock shows it."""
        stamp = self.epoch + timedelta(seconds=t)
        return f"{stamp.isoformat(timespec='milliseconds').replace('+00:00', 'Z')} (t={t:g}s)"


def add_event(trace: IntentTrace, event: dict[str, Any]) -> None:
    """Add one event of the intent (its JSON form) to the trace."""
    kind, t = event["kind"], event["t"]
    if kind == "transition":
        trace.stages.append(Stage(t=t, path=event["path"], state=event["to"], code=event.get("code"),
                                  forced=bool(event.get("forced"))))
    elif kind == "relay":
        trace.sender, trace.recipient, trace.intent = event["sender"], event["recipient"], event["intent"]
        if event.get("shield"):
            trace.shield.append({"t": t, "origin": event["origin"], **event["shield"]})
    elif kind == "bus_accepted":
        trace.sender, trace.recipient, trace.intent = event["sender"], event["recipient"], event["intent"]
        trace.message_id = event["message_id"]
    elif kind == "attempt":
        trace.attempts.append(event)
    elif kind == "retry_scheduled":
        trace.retries.append(event)
    elif kind in ("relay_rejected", "send_rejected", "relay_error"):
        trace.refusals.append(event)
    elif kind == "agent_result":
        trace.results.append(event)


def guidance(trace: IntentTrace) -> str:
    """The runbook's guidance for the state the intent ended in (beam-model §9.5)."""
    final = trace.final()
    status = final.get("bus") or final.get("directory")
    codes = [r.get("code") or r.get("error_code") for r in trace.refusals] + [s.code for s in trace.stages if s.code]
    last_code = next((c for c in reversed(codes) if c), None)
    held = any(s.get("decision") in ("hold", "reject") for s in trace.shield)
    if status == "delivered":
        accepted = any(r.get("accepted_async") for r in trace.results)
        return ("Failure mode 1, stuck in delivered: the hand-off was accepted but no terminal ack came. "
                + ("The agent answered with an async acceptance (terminal: false): the follow-up belongs on the "
                   "same thread; this is expected for async fan-out. " if accepted else
                   "Check whether this is an async 'accepted' fan-out. ")
                + "Then check Alerts for a backlog (network-in-flight-backlog after 15 minutes).")
    if status == "queued":
        return ("Failure mode 2, queued with retries: the target is offline, the network failed or a rate limit "
                "hit. Confirm the error is retryable, check the target agent, then wait for the next retry or fix "
                "the cause.")
    if last_code == "FORBIDDEN" or (last_code or "").startswith("HOST_"):
        return ("Failure mode 4, FORBIDDEN / ACL denial: check the sender and target ids and recent ACL changes "
                "(audit); reseed the demo (demo:seed) or fix the exact ACL entry. Do not widen the ACL to '*'."
                + (" Then requeue the dead letter." if status == "dead_letter" else ""))
    if status == "dead_letter":
        return ("Failure mode 3, dead letter: open this trace, record an owner and next action in the Inbox, fix "
                "the root cause, then requeue (the original nonce is kept).")
    if (last_code and last_code.startswith(SHIELD_CODES)) or held:
        return ("Failure mode 5, rate limit or Shield: inspect the Shield context below, correlate with Alerts and "
                "Errors, and change policy only for confirmed-valid traffic.")
    if status == "acked":
        return "Acked: the work reached a terminal, successful outcome on this path. Nothing to do."
    if status == "failed":
        return (f"Failed with {last_code or 'an error'}: sent through the bus, retryable codes are retried and may "
                "end in a dead letter; sent directly, the sender must resend after fixing the cause.")
    return "In flight: the intent has not finished yet; check again after its timeout."
