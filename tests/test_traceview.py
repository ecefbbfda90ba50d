"""``beamdrill trace``: the intent as the runbook opens it, and its guidance per status."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import beamdrill, without_limits
from drills.runbook import IntentTrace, add_event, guidance
from drills.runs.traceview import load_trace, render

S, T = "sender@test.beam", "target@test.beam"


def run(tmp_path: Path, agents: list[dict[str, Any]], faults: list[dict[str, Any]] = (), until: str = "20m",
        **extra: Any) -> Path:
    """Run a scenario with one bus route's worth of scripted sends and return the run dir."""
    scenario = {"name": "trace-test", "duration": until, **without_limits(agents), "faults": list(faults), **extra}
    file = tmp_path / "scenario.yaml"
    file.write_text(yaml.safe_dump(scenario))
    out = tmp_path / "run"
    assert beamdrill("run", file, "--events", "--out", out).returncode == 0
    return out


def first_nonce(run_dir: Path, kind: str, **match: Any) -> str:
    for line in (run_dir / "events.jsonl").read_text().splitlines():
        event = json.loads(line)
        if event["kind"] == kind and all(event.get(k) == v for k, v in match.items()):
            return event["nonce"]
    raise AssertionError(f"no {kind} event with {match}")


def route(via: str = "bus", intent: str = "agent.ping", rate: str = "1/min") -> dict[str, Any]:
    return {"traffic": {"routes": [{"name": "r", "from": S, "to": T, "intent": intent, "via": via, "rate": rate}]}}


def test_dead_letter_trace_shows_five_attempts_retries_and_failure_mode_3(tmp_path: Path) -> None:
    out = run(tmp_path, [{"id": S}, {"id": T, "connected": False}], until="12m", **route())
    nonce = first_nonce(out, "transition", path="bus", to="dead_letter")
    trace = load_trace(out, nonce)
    assert trace.final() == {"bus": "dead_letter", "directory": "failed"}
    assert [a["number"] for a in trace.attempts] == [1, 2, 3, 4, 5]
    assert all(a["code"] == "OFFLINE" and a["http_status"] == 503 for a in trace.attempts)
    assert [r["retry_count"] for r in trace.retries] == [1, 2, 3, 4]
    assert guidance(trace).startswith("Failure mode 3, dead letter")
    text = "\n".join(render(trace))
    assert "attempt 5: 503 OFFLINE" in text and "2026-04-03T08:" in text


def test_async_acceptance_stuck_in_delivered_is_failure_mode_1(tmp_path: Path) -> None:
    out = run(tmp_path, [{"id": S}, {"id": T, "async_accept": 1.0}], until="5m", **route())
    nonce = first_nonce(out, "transition", path="bus", to="delivered")
    trace = load_trace(out, nonce)
    assert trace.final() == {"bus": "delivered", "directory": "acked"}
    assert "async acceptance (terminal: false)" in guidance(trace)
    assert guidance(trace).startswith("Failure mode 1")


def test_queued_message_is_failure_mode_2(tmp_path: Path) -> None:
    # The run stops while the first retry is still pending.
    out = run(tmp_path, [{"id": S}, {"id": T, "connected": False}], until="70s", **route(rate="1/s"))
    nonce = first_nonce(out, "transition", path="bus", to="queued")
    trace = load_trace(out, nonce)
    assert trace.final()["bus"] == "queued"
    assert guidance(trace).startswith("Failure mode 2")


def test_forbidden_shows_the_acl_change_in_audit_and_failure_mode_4(tmp_path: Path) -> None:
    faults = [{"kind": "acl_remove", "target": T, "intent": "agent.ping", "allowed_from": "*", "at": 0, "duration": "10m"}]
    out = run(tmp_path, [{"id": S}, {"id": T}], faults, until="3m", **route())
    nonce = first_nonce(out, "relay_rejected", code="FORBIDDEN")
    trace = load_trace(out, nonce)
    assert trace.final() == {"bus": "dead_letter"}
    assert [r["code"] for r in trace.refusals] == ["FORBIDDEN"]
    assert trace.shield[0]["decision"] == "reject" and "FORBIDDEN" in trace.shield[0]["flags"]
    assert guidance(trace).startswith("Failure mode 4") and guidance(trace).endswith("Then requeue the dead letter.")
    assert [(row["time"], row["action"], row["target"]) for row in trace.audit] == [(0.0, "acl.deleted", T)]


def test_rate_limited_send_is_failure_mode_5_with_shield_context(tmp_path: Path) -> None:
    faults = [{"kind": "rate_limit", "layer": "relay_sender", "limit": 1, "at": 0, "duration": "10m"}]
    out = run(tmp_path, [{"id": S}, {"id": T}], faults, until="2m", **route(via="ws", rate="10/min"))
    nonce = first_nonce(out, "relay_rejected", code="RATE_LIMITED")
    trace = load_trace(out, nonce)
    assert trace.final() == {}
    assert guidance(trace).startswith("Failure mode 5")
    assert "flags RATE_LIMITED" in "\n".join(render(trace))


def test_acked_intent_needs_nothing(tmp_path: Path) -> None:
    out = run(tmp_path, [{"id": S}, {"id": T}], until="2m", **route(via="ws"))
    nonce = first_nonce(out, "transition", path="directory", to="acked")
    trace = load_trace(out, nonce)
    assert [s.state for s in trace.stages] == ["received", "validated", "dispatched", "delivered", "acked"]
    assert guidance(trace).startswith("Acked")


@pytest.mark.parametrize("args, message", [
    (["trace", "nope", "--run", "{run}"], "events.jsonl: nonce: expected a nonce this run saw, found 'nope'"),
    (["trace", "x", "--run", "{missing}"], "--run: expected a run directory with result.json, found none"),
])
def test_unknown_nonce_or_missing_run_is_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    out = run(tmp_path, [{"id": S}, {"id": T}], until="2m", **route(via="ws"))
    argv = [a.format(run=out, missing=tmp_path / "missing") for a in args]
    done = beamdrill(*argv)
    assert done.returncode == 2
    assert done.stderr.strip().endswith(message) and len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr + done.stdout


def test_run_without_events_says_to_rerun_with_events(tmp_path: Path) -> None:
    file = tmp_path / "s.yaml"
    file.write_text(yaml.safe_dump({"name": "t", "duration": "1m", **without_limits([{"id": S}, {"id": T}])}))
    assert beamdrill("run", file, "--out", tmp_path / "r").returncode == 0
    done = beamdrill("trace", "x", "--run", tmp_path / "r")
    assert done.returncode == 2 and "rerun with --events" in done.stderr


def test_a_corrupt_result_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    out = run(tmp_path, [{"id": S}, {"id": T}], until="2m", **route(via="ws"))
    (out / "result.json").write_text('{"scenario": ')
    done = beamdrill("trace", "x", "--run", out)
    assert done.returncode == 2
    assert done.stderr.strip() == f"{out / 'result.json'}: line 1, column 14: expected valid JSON, found expecting value"
    assert "Traceback" not in done.stderr + done.stdout


# -- the final status decides the guidance -------------------------------------------------------

EPOCH = datetime(2026, 4, 3, 8, tzinfo=timezone.utc)


def trace_of(*events: dict[str, Any]) -> IntentTrace:
    """A trace built from events given as (t, kind, fields) dicts, as the run writes them."""
    trace = IntentTrace(nonce="n", epoch=EPOCH)
    for event in events:
        add_event(trace, {"nonce": "n", **event})
    return trace


def moves(path: str, t: float, *states: str, code: str | None = None) -> list[dict[str, Any]]:
    found = [{"t": t, "kind": "transition", "path": path, "to": state} for state in states]
    if code is not None:
        found[-1]["code"] = code
    return found


def test_an_acked_intent_that_shield_held_is_acked_with_a_shield_note() -> None:
    """Shield holds never block (§8): the intent is acked, which the guidance says first."""
    relay = {"t": 1.0, "kind": "relay", "sender": S, "recipient": T, "intent": "agent.ping", "origin": "ws",
             "shield": {"decision": "hold", "risk": 0.55, "flags": ["new_intent_type"]}}
    trace = trace_of(relay, *moves("directory", 1.0, "received", "validated", "dispatched", "delivered", "acked"))
    assert guidance(trace) == ("Acked: the work reached a terminal, successful outcome on this path. Nothing to do. "
                               "Shield held it on the way (risk 0.55; a hold never blocks): inspect the Shield "
                               "context below, as in failure mode 5, before trusting what it carried.")


def test_a_resend_acked_after_a_forbidden_refusal_is_acked() -> None:
    refused = {"t": 1.0, "kind": "relay_rejected", "code": "FORBIDDEN", "http_status": 403}
    trace = trace_of(refused, *moves("directory", 60.0, "received", "validated", "dispatched", "delivered", "acked"))
    assert guidance(trace) == "Acked: the work reached a terminal, successful outcome on this path. Nothing to do."


def test_a_refusal_that_is_no_failure_mode_says_what_was_refused() -> None:
    trace = trace_of({"t": 1.0, "kind": "relay_rejected", "code": "BAD_REQUEST", "http_status": 400})
    assert guidance(trace) == ("Refused with BAD_REQUEST before any row was written: nothing was delivered or "
                               "queued; the sender must fix the request and resend it.")
    bus = trace_of({"t": 1.0, "kind": "send_rejected", "code": "RATE_LIMIT_EXCEEDED", "http_status": 429})
    assert guidance(bus).startswith("Failure mode 5, rate limit or Shield")


def test_the_newest_code_decides_a_failure_in_time_order() -> None:
    """A FORBIDDEN refusal, then a resend that failed TIMEOUT: failed with TIMEOUT, not failure mode 4."""
    refused = {"t": 1.0, "kind": "relay_rejected", "code": "FORBIDDEN", "http_status": 403}
    trace = trace_of(refused, *moves("directory", 60.0, "received", "validated", "dispatched", "failed",
                                     code="TIMEOUT"))
    assert guidance(trace).startswith("Failed with TIMEOUT: ")


def test_a_forbidden_dead_letter_requeued_and_dead_lettered_again() -> None:
    attempt = {"kind": "attempt", "number": 1, "delivered": False, "http_status": 403, "code": "FORBIDDEN"}
    trace = trace_of(*moves("bus", 1.0, "received", "dispatched"), {"t": 1.0, **attempt},
                     *moves("bus", 1.0, "dead_letter"), *moves("bus", 90.0, "queued", "dispatched"),
                     {"t": 90.0, **attempt}, *moves("bus", 90.0, "dead_letter"))
    assert guidance(trace) == (
        "Requeued from a dead letter: dead-lettered at t=1s with FORBIDDEN, requeued with its original nonce at t=90s. "
        "Now: Failure mode 4, FORBIDDEN / ACL denial: check the sender and target ids and "
        "recent ACL changes (audit); reseed the demo (demo:seed) or fix the exact ACL entry. Do not widen the ACL to "
        "'*'. Then requeue the dead letter.")
