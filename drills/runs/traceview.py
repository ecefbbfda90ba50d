"""``beamdrill trace NONCE --run DIR``: one intent as an operator opens it in the runbook.

Reads what a run wrote (``result.json`` for the epoch, ``events.jsonl`` for the intent's
history, ``audit.jsonl`` for related audit rows) and prints the lifecycle stages with
timestamps, retries with delays and errors, the Shield context, the bucket and the
runbook's guidance for the status it ended in (beam-model §9.5).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from drills.runbook import IntentTrace, add_event, final_status, guidance
from drills.runs.operatorview import OperatorViewError, load_clock
from simulator.kernel.lifecycle import bucket
from simulator.kernel.problems import InputError, Problem


class TraceError(InputError):
    """The run directory or the nonce cannot be shown."""


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
    status = final_status(trace)
    path = "bus" if "bus" in final else "directory"
    lines.append(f"guidance for the state it ended in ({f'{path} {status}' if status else 'refused, no row'})")
    lines.append(f"  {guidance(trace)}")
    return lines
