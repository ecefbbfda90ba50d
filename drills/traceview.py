"""``beamdrill trace NONCE --run DIR``: one intent as an operator opens it in the runbook.

Reads what a run wrote (``result.json`` for the epoch, ``events.jsonl`` for the intent's
history, ``audit.jsonl`` for related audit rows) and prints the lifecycle stages with
timestamps, retries with delays and errors, the Shield context, the bucket and the
runbook's guidance for the status it ended in (beam-model §9.5).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterator

from pydantic import BaseModel

from drills.operatorview import OperatorViewError, load_clock
from simulator.kernel.lifecycle import bucket
from simulator.kernel.problems import InputError, Problem

SHIELD_CODES = ("RATE_LIMITED", "SHIELD_", "UNAUTHORIZED")


class TraceError(InputError):
    """The run directory or the nonce cannot be shown."""


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


def _lines_mentioning(path: Path, nonce: str) -> Iterator[dict[str, Any]]:
    needle = json.dumps(nonce)
    with path.open(encoding="utf-8") as stream:
        for line in stream:
            if needle in line:
                record = json.loads(line)
                yield record


def load_trace(run: Path, nonce: str) -> IntentTrace:
    """Collect ``nonce``'s history from run directory ``run``; raise :class:`TraceError`."""
    result_file, events_file = run / "result.json", run / "events.jsonl"
    if not result_file.is_file():
        raise TraceError([Problem(file=str(run), field="--run", message="expected a run directory with result.json, found none")])
    if not events_file.is_file():
        raise TraceError([Problem(file=str(run), field="events.jsonl",
                                  message="expected the run's events; rerun with --events to trace intents")])
    try:
        epoch = load_clock(run).epoch
    except OperatorViewError as error:
        raise TraceError(error.problems) from None
    trace = IntentTrace(nonce=nonce, epoch=epoch)
    for event in _lines_mentioning(events_file, nonce):
        if event.get("nonce") != nonce:
            continue
        add_event(trace, event)
    if not trace.stages and not trace.refusals:
        raise TraceError([Problem(file=str(events_file), field="nonce",
                                  message=f"expected a nonce this run saw, found {nonce!r}")])
    audit_file = run / "audit.jsonl"
    if audit_file.is_file():
        trace.audit = list(_lines_mentioning(audit_file, nonce))
        if trace.recipient and any(r.get("code") == "FORBIDDEN" for r in trace.refusals):
            # Failure mode 4 asks for recent ACL changes on the target.
            trace.audit += [row for row in _lines_mentioning(audit_file, trace.recipient)
                            if row["action"].startswith("acl.") and row.get("target") == trace.recipient]
            trace.audit.sort(key=lambda row: row["time"])
    return trace


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


def render(trace: IntentTrace) -> list[str]:
    """The trace as lines of text, in the order an operator reads it."""
    lines = [f"intent {trace.nonce}",
             f"  {trace.sender or '?'} → {trace.recipient or '?'}  {trace.intent or '?'}"
             + (f"  (bus message {trace.message_id})" if trace.message_id else "")]
    final = trace.final()
    for path, state in final.items():
        lines.append(f"  {path}: {state} ({bucket(state)})")
    lines.append("stages")
    for stage in trace.stages:
        extra = f" {stage.code}" if stage.code else ""
        extra += " (forced: Beam's raw reset)" if stage.forced else ""
        lines.append(f"  {trace.when(stage.t)}  {stage.path:<9} {stage.state}{extra}")
    if trace.attempts or trace.retries:
        lines.append("bus attempts and retries")
        timeline: list[tuple[float, int, str]] = []
        for attempt in trace.attempts:
            outcome = "delivered" if attempt.get("delivered") else f"{attempt.get('http_status')} {attempt.get('code')}"
            error = attempt.get("error")
            timeline.append((attempt["t"], 0, f"attempt {attempt.get('number')}: {outcome}"
                             + (f" ({error})" if error and error != attempt.get("code") else "")))
        for retry in trace.retries:
            timeline.append((retry["t"], 1, f"retry {retry['retry_count']} in {retry['delay']:g}s, "
                                            f"due t={retry['next_retry_at']:g}s"))
        for t, _, text in sorted(timeline, key=lambda item: (item[0], item[1])):
            lines.append(f"  {trace.when(t)}  {text}")
    if trace.refusals:
        lines.append("refusals")
        for refusal in trace.refusals:
            lines.append(f"  {trace.when(refusal['t'])}  {refusal['kind']}: {refusal.get('http_status', '')} "
                         f"{refusal.get('error_code') or refusal.get('code') or ''}".rstrip())
    lines.append("shield")
    if not trace.shield:
        lines.append("  no Shield decision recorded")
    for row in trace.shield:
        review = "  critical review" if row["risk"] >= 0.8 else ""
        lines.append(f"  {trace.when(row['t'])}  {row['decision']} risk {row['risk']:g} "
                     f"flags {', '.join(row['flags']) or 'none'}{review}")
    lines.append("audit")
    if not trace.audit:
        lines.append("  no audit rows mention this nonce")
    for row in trace.audit:
        lines.append(f"  {trace.when(row['time'])}  {row['action']} {row.get('target') or ''}".rstrip())
    lines.append("guidance")
    lines.append(f"  {guidance(trace)}")
    return lines
