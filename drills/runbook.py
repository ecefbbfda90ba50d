"""An intent's history as the runbook reads it, and the runbook's guidance for the state it
ended in (beam-model §9.5): the final status decides the failure mode, error codes only
tell a refusal's, failure's or dead letter's mode apart, and a dead letter the intent was
requeued from is said before the guidance for where it is now. The trace view
(:mod:`drills.runs.traceview`) builds it from a run's files, the drill probes
(:mod:`drills.executor.observe`) from the live event stream.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel

#: Codes of failure mode 5, rate limit or Shield: the directory's limits and Shield
#: (``RATE_LIMITED``, ``SHIELD_*``, ``UNAUTHORIZED``) and the bus's per-sender limit.
SHIELD_CODES = ("RATE_LIMITED", "SHIELD_", "UNAUTHORIZED", "RATE_LIMIT_EXCEEDED")


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


def final_status(trace: IntentTrace) -> str | None:
    """The status the guidance follows: the bus row's when the intent went through the bus
    (it outlives the directory row: an async acceptance acks the directory row and leaves
    the bus message ``delivered``, §2.4), else the directory row's; None when the intent
    was refused before any row was written."""
    final = trace.final()
    return final.get("bus") or final.get("directory")


def last_code(trace: IntentTrace, until: float | None = None) -> str | None:
    """The newest error code the intent met (refusals, failed stages, bus attempts), in
    time order, up to ``until`` when given."""
    found: list[tuple[float, str]] = []
    for refusal in trace.refusals:
        code = refusal.get("code") or refusal.get("error_code")
        if code:
            found.append((refusal["t"], code))
    found += [(stage.t, stage.code) for stage in trace.stages if stage.code]
    found += [(attempt["t"], attempt["code"]) for attempt in trace.attempts if attempt.get("code")]
    found = [item for item in found if until is None or item[0] <= until]
    found.sort(key=lambda item: item[0])  # stable: same-time codes keep their order
    return found[-1][1] if found else None


def requeues(trace: IntentTrace) -> list[tuple[float, float]]:
    """(dead-lettered at, requeued at) for every bus dead letter the intent left again."""
    bus = [stage for stage in trace.stages if stage.path == "bus"]
    return [(stage.t, after.t) for stage, after in zip(bus, bus[1:]) if stage.state == "dead_letter"]


def _history(trace: IntentTrace) -> str:
    """What the final status does not show: dead letters the intent was requeued from."""
    found = requeues(trace)
    if not found:
        return ""
    dead, requeued = found[-1]
    code = last_code(trace, until=dead)
    cause = f" with {code}" if code else ""
    times = "" if len(found) == 1 else f" ({len(found)} times, the last)"
    return (f"Requeued from a dead letter{times}: dead-lettered at t={dead:g}s{cause}, requeued with its original "
            f"nonce at t={requeued:g}s. Now: ")


def _forbidden(code: str | None) -> bool:
    return code == "FORBIDDEN" or (code or "").startswith("HOST_")


PAST = {"hold": "held", "reject": "rejected"}
FM4 = ("Failure mode 4, FORBIDDEN / ACL denial: check the sender and target ids and recent ACL changes (audit); "
       "reseed the demo (demo:seed) or fix the exact ACL entry. Do not widen the ACL to '*'.")
FM5 = ("Failure mode 5, rate limit or Shield: inspect the Shield context below, correlate with Alerts and Errors, "
       "and change policy only for confirmed-valid traffic.")


def _refusal_mode(code: str | None) -> str | None:
    """Failure mode 4 or 5 when ``code`` is an ACL or a rate-limit/Shield refusal."""
    if _forbidden(code):
        return FM4
    if code and code.startswith(SHIELD_CODES):
        return FM5
    return None


def _for_status(trace: IntentTrace, status: str | None) -> str:
    """The runbook's words for ``status`` (beam-model §9.5): the status decides, and the
    error code only says which failure mode a refusal, failure or dead letter is."""
    code = last_code(trace)
    if status is None:  # refused before any row: the code is all there is
        return _refusal_mode(code) or (f"Refused with {code or 'an error'} before any row was written: nothing was "
                                       "delivered or queued; the sender must fix the request and resend it.")
    if status == "dead_letter":
        if _forbidden(code):
            return FM4 + " Then requeue the dead letter."
        return ("Failure mode 3, dead letter: open this trace, record an owner and next action in the Inbox, fix "
                "the root cause, then requeue (the original nonce is kept).")
    if status == "queued":
        return ("Failure mode 2, queued with retries: the target is offline, the network failed or a rate limit "
                "hit. Confirm the error is retryable, check the target agent, then wait for the next retry or fix "
                "the cause.")
    if status == "delivered":
        accepted = any(r.get("accepted_async") for r in trace.results)
        return ("Failure mode 1, stuck in delivered: the hand-off was accepted but no terminal ack came. "
                + ("The agent answered with an async acceptance (terminal: false): the follow-up belongs on the "
                   "same thread; this is expected for async fan-out. " if accepted else
                   "Check whether this is an async 'accepted' fan-out. ")
                + "Then check Alerts for a backlog (network-in-flight-backlog after 15 minutes).")
    if status == "failed":
        return _refusal_mode(code) or (f"Failed with {code or 'an error'}: sent through the bus, retryable codes are "
                                       "retried and may end in a dead letter; sent directly, the sender must resend "
                                       "after fixing the cause.")
    if status == "acked":
        flagged = [s for s in trace.shield if s.get("decision") in ("hold", "reject")]
        review = (f" Shield {PAST[flagged[-1]['decision']]} it on the way (risk {flagged[-1]['risk']:g}; a hold never "
                  "blocks): inspect the Shield context below, as in failure mode 5, before trusting what it "
                  "carried." if flagged else "")
        return "Acked: the work reached a terminal, successful outcome on this path. Nothing to do." + review
    return "In flight: the intent has not finished yet; check again after its timeout."


def guidance(trace: IntentTrace) -> str:
    """The runbook's guidance for the state the intent ended in (beam-model §9.5), after
    what that state hides: a dead letter the intent was requeued from."""
    return _history(trace) + _for_status(trace, final_status(trace))
