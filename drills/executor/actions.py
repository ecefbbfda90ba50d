"""Operator steps: what an operator does during a drill, through the same API calls an
operator makes in Beam (inbox PATCH, exports, requeue, prune, ACL, partner requests),
plus sending intents and fixing the root cause (reverting a fault)."""

from __future__ import annotations

from typing import Any, Callable, Generator

import simpy

from drills.drillfile import steps
from drills.executor.context import DrillContext, Evidence
from simulator.kernel.rng import random_uuid
from simulator.operator.partnerhealth import health_report

#: The operator's identity in the audit log.
OPERATOR = "drill-operator"


class StepFailed(Exception):
    """A step could not be done in the world as it is (the API refused it)."""


def _item_id(ctx: DrillContext, key: str) -> int:
    item = ctx.world.inbox.by_key(key)
    if item is None:
        raise StepFailed(f"no inbox item {key} yet")
    return item.id


def _patch(ctx: DrillContext, key: str, changes: dict[str, Any]) -> dict[str, Any]:
    answer = ctx.world.inbox.patch(_item_id(ctx, key), changes, role="operator", actor=OPERATOR)
    if not answer.ok:
        raise StepFailed(f"inbox PATCH answered {answer.status} {answer.error_code}")
    notification: dict[str, Any] = answer.body["notification"]
    return {key: notification[key] for key in ("id", "sourceKey", "status", "owner", "nextAction")}


def _acknowledge(ctx: DrillContext, step: steps.Acknowledge) -> Any:
    changes: dict[str, Any] = {"status": "acknowledged"}
    if step.owner is not None:
        changes["owner"] = step.owner
    if step.next_action is not None:
        changes["nextAction"] = step.next_action
    return _patch(ctx, step.item, changes)


def _set_owner(ctx: DrillContext, step: steps.SetOwner) -> Any:
    changes: dict[str, Any] = {"owner": step.owner, "nextAction": step.next_action}
    if step.status is not None:
        changes["status"] = step.status
    return _patch(ctx, step.item, changes)


def _export(ctx: DrillContext, step: steps.ExportEvidence) -> Any:
    world = ctx.world
    files = []
    for dataset in step.datasets:
        if dataset == "dead_letters":
            answer = world.exports.export_dead_letters(step.format)
        else:
            alerts = world.alerts.evaluate() if dataset == "alerts" else ()
            answer = world.exports.export(dataset, step.format, alerts=alerts)
        if not answer.ok:
            raise StepFailed(f"export of {dataset} answered {answer.status} {answer.error_code}")
        filename = f"evidence/t{world.now:.0f}-{dataset.replace('_', '-')}.{step.format}"
        ctx.evidence.append(Evidence(world.now, dataset, filename, answer.body["text"]))
        files.append({"dataset": dataset, "rows": answer.body.get("count"), "file": filename})
    return files


def _fix(ctx: DrillContext, step: steps.FixRootCause) -> Any:
    index = ctx.loaded.fault_index(step.fault)
    if not ctx.world.end_fault(index):
        raise StepFailed(f"fault {step.fault!r} is not active")
    return {"reverted": step.fault}


def _requeue(ctx: DrillContext, step: steps.RequeueDeadLetters) -> Any:
    letters = ctx.world.dead_letters(recipient=step.recipient, limit=500)
    if not letters:
        raise StepFailed("no dead letters to requeue")
    for message in letters:
        ctx.world.requeue(message.id)
    return {"requeued": [message.nonce for message in letters]}


def _prune(ctx: DrillContext, step: steps.Prune) -> Any:
    phrase = f"prune {step.dataset}" if step.confirm_phrase is None else step.confirm_phrase
    answer = ctx.world.pruner.prune(step.dataset, step.older_than_days, confirm_dataset=step.dataset,
                                    confirm_phrase=phrase, role="admin", actor=OPERATOR)
    if not answer.ok:
        raise StepFailed(f"prune answered {answer.status} {answer.error_code}")
    return {key: answer.body.get(key) for key in ("dataset", "olderThanDays", "deleted")}


def _add_acl(ctx: DrillContext, step: steps.AddAclEntry) -> Any:
    ctx.world.add_acl_entry(step.entry())
    return step.entry().model_dump()


def _send(ctx: DrillContext, step: steps.Send) -> Any:
    world = ctx.world
    stream = world.rng(f"drill:send:{step.name or step.at}")
    nonces = [f"{step.nonce_prefix}{i}" if step.nonce_prefix else random_uuid(stream) for i in range(step.count)]
    ctx.sent.extend(nonces)
    world.env.process(_sending(ctx, step, nonces))
    return {"nonces": nonces if len(nonces) <= 10 else nonces[:10] + [f"... {len(nonces) - 10} more"]}


def _sending(ctx: DrillContext, step: steps.Send, nonces: list[str]) -> Generator[simpy.Event, Any, None]:
    world = ctx.world
    for index, nonce in enumerate(nonces):
        if index and step.every > 0:
            yield world.env.timeout(step.every)
        world.send(step.sender, step.recipient, step.intent, dict(step.payload), nonce, step.via)


def _partner_request(ctx: DrillContext, step: steps.PartnerRequestStep) -> Any:
    partners = ctx.world.partners
    created = partners.create(step.email, step.company, step.agent_count, step.workflow_type)
    if not created.ok:
        raise StepFailed(f"partner request answered {created.status} {created.error_code}")
    request_id = created.body["request"]["id"]
    patch = dict(step.patch)
    proof = patch.get("proofIntentNonce")
    if isinstance(proof, str) and proof.startswith("step:"):
        runs = ctx.world.quote_runs()
        patch["proofIntentNonce"] = getattr(runs[0], f"{proof.removeprefix('step:')}_nonce", None) if runs else None
        if patch["proofIntentNonce"] is None:
            raise StepFailed(f"the quote workflow has no {proof.removeprefix('step:')} nonce yet")
    if patch:
        answer = partners.patch(request_id, patch, role="operator", actor=OPERATOR)
        if not answer.ok:
            raise StepFailed(f"partner request PATCH answered {answer.status} {answer.error_code}")
    return {"request_id": request_id, "patched": sorted(patch)}


def _backup(ctx: DrillContext, step: steps.BackupStores) -> Any:
    try:
        taken = ctx.world.take_backup(step.label)
    except RuntimeError as refused:
        raise StepFailed(str(refused)) from None
    return {"backup": taken.id, "label": taken.label, "directory_rows": taken.directory_rows,
            "bus_messages": taken.bus_messages}


def _restore(ctx: DrillContext, step: steps.RestoreStores) -> Any:
    try:
        backup = ctx.world.restore_stores(step.backup, step.downtime)
    except LookupError as missing:
        raise StepFailed(str(missing)) from None
    return {"backup": backup.id, "taken_at": backup.taken_at, "downtime": step.downtime}


def _seed_row(ctx: DrillContext, step: steps.SeedRow) -> Any:
    world = ctx.world
    try:
        if step.store == "bus":
            world.seed_bus_message(step.sender, step.recipient, step.intent, dict(step.payload), step.nonce,
                                   step.status, error=step.error or "")
        else:
            world.seed_directory_row(step.sender, step.recipient, step.intent, step.nonce, dict(step.payload),
                                     step.status, error_code=step.error)
    except ValueError as refused:
        raise StepFailed(str(refused)) from None
    world.fixture_row(step.nonce)
    return {"store": step.store, "nonce": step.nonce, "status": step.status}


def capture(ctx: DrillContext) -> dict[str, Any]:
    """What the backup/restore drill compares before and after (§12): the partner requests,
    partner health, the bus stats and the stores' checksums."""
    world = ctx.world
    requests = world.partners.all()
    health = health_report(world.partners, world.alerts.refs())
    return {"request_id": [request.id for request in requests],
            "request_status": [request.status for request in requests],
            "owner": [request.owner for request in requests],
            "proof_nonce": [request.proof_intent_nonce for request in requests],
            "partner_health": dict(health.counts), "bus_stats": world.bus_stats(), "stores": world.store_digests()}


def _capture(ctx: DrillContext, step: steps.Capture) -> Any:
    captured = capture(ctx)
    ctx.captures[step.label] = captured
    return {key: captured[key] for key in ("request_id", "owner", "proof_nonce", "partner_health")} | {
        "bus_total": captured["bus_stats"]["total"]}


PERFORMERS: dict[type, Callable[[DrillContext, Any], Any]] = {
    steps.Acknowledge: _acknowledge, steps.SetOwner: _set_owner, steps.ExportEvidence: _export,
    steps.FixRootCause: _fix, steps.RequeueDeadLetters: _requeue, steps.Prune: _prune,
    steps.AddAclEntry: _add_acl, steps.Send: _send, steps.PartnerRequestStep: _partner_request,
    steps.BackupStores: _backup, steps.RestoreStores: _restore, steps.SeedRow: _seed_row, steps.Capture: _capture,
}


def perform(ctx: DrillContext, step: steps.StepBase) -> Any:
    """Do ``step`` in the world now; return its output or raise :class:`StepFailed`."""
    output = PERFORMERS[type(step)](ctx, step)
    ctx.performed.append((ctx.world.now, getattr(step, "action")))
    return output


def label(step: steps.StepBase) -> str:
    """A step's name, or its action and what it acts on."""
    if step.name:
        return step.name
    target = (getattr(step, "item", None) or getattr(step, "fault", None) or getattr(step, "dataset", None)
              or getattr(step, "recipient", None) or getattr(step, "email", None) or getattr(step, "label", None)
              or getattr(step, "backup", None) or getattr(step, "nonce", None) or "")
    return f"{getattr(step, 'action')} {target}".strip()
