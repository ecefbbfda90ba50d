"""A GameDay session: the world, the drill being played on it, and the operators' actions.

The drill is the one ``beamdrill drill run`` loads (a built-in name or a file) or a
scenario wrapped as a drill without expectations of its own (:func:`load_gameday`). Its
faults run as scheduled; its operator steps and rollbacks are left to the people (only
the steps that are traffic, ``send`` and a partner request arriving, still play). Every
action enters the world at the current virtual time, is judged by the runbook's order
rules (:mod:`drills.executor.orderrules`), added to the drill's journal as an activity
and journalled with its wall time (:mod:`drills.gameday.journal`).
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any, Callable

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.alias_generators import to_camel

from drills.drillfile import steps
from drills.drillfile.builtin import resolve
from drills.drillfile.loader import DrillError, LoadedDrill, load_drill, parse_drill
from drills.executor import actions
from drills.executor.execute import DrillAborted, DrillRun
from drills.executor.journal import Activity, Violation
from drills.executor.orderrules import violations
from drills.gameday.journal import WORLD_ACTIONS, ActionName, OperatorAction, OperatorJournal, Outcome
from simulator.kernel.problems import Problem
from simulator.operator.api import ApiResult, error, ok
from simulator.scenario.faults import FaultSpec
from simulator.scenario.model import ShieldSpec
from simulator.scenario.parts import AclEntry
from simulator.kernel.yamlfile import read_yaml_mapping

#: Operator steps a GameDay leaves to the people (traffic steps still play).
PEOPLE_STEPS = (steps.Acknowledge, steps.SetOwner, steps.ExportEvidence, steps.FixRootCause,
                steps.RequeueDeadLetters, steps.Prune, steps.AddAclEntry)


def _plays(step: steps.StepBase) -> bool:
    if isinstance(step, PEOPLE_STEPS):
        return False
    return not (isinstance(step, steps.PartnerRequestStep) and step.patch)


def for_people(loaded: LoadedDrill) -> LoadedDrill:
    """``loaded`` with its operator steps and rollbacks taken out: the people do them."""
    drill = loaded.drill.model_copy(update={"steps": [step for step in loaded.drill.steps if _plays(step)],
                                            "rollbacks": []})
    return LoadedDrill(loaded.name, loaded.path, drill, loaded.scenario, loaded.scenario_file)


def load_gameday(name: str) -> LoadedDrill:
    """A built-in drill's name, a drill file or a scenario file, loaded as ``drill run`` and
    ``run`` load them; raise :class:`DrillError` with one problem per line."""
    path = resolve(name)
    if isinstance(path, Problem):
        raise DrillError([path])
    data = read_yaml_mapping(path, DrillError)
    if "expectations" in data or "rehearses" in data:
        return for_people(load_drill(path))
    duration = data.get("duration", "1h")
    try:  # a scenario: the GameDay runs its whole duration, graded by the world's invariants
        wrapped = parse_drill({"title": f"GameDay on {path.stem}", "rehearses": "fire-drill",
                               "scenario": path.name, "duration": duration,
                               "expectations": [{"name": "nothing lost", "probe": "invariant",
                                                 "equals": "held", "at": duration}]}, path)
    except DrillError as problem:
        raise DrillError([Problem(file=str(path), field=p.field, message=p.message) for p in problem.problems]) \
            from None
    return for_people(wrapped)


class _Args(BaseModel):
    """Arguments of an action, camelCase on the wire; unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, strict=True)


class RequeueArgs(_Args):
    """``POST /v1/beam/dead-letter/:id/requeue``."""

    id: str = Field(min_length=1, max_length=200)


class PruneArgs(_Args):
    """``POST /observability/prune``."""

    dataset: str = Field(max_length=100)
    older_than_days: float | int | None = None
    confirm_dataset: str | None = Field(default=None, max_length=100)
    confirm_phrase: str | None = Field(default=None, max_length=200)


class AclArgs(_Args):
    """``POST /acl`` and ``DELETE /acl``: one exact entry."""

    target_beam_id: str = Field(max_length=300)
    intent_type: str = Field(min_length=1, max_length=200)
    allowed_from: str = Field(min_length=1, max_length=300)


class ShieldArgs(_Args):
    """``PATCH /shield/config/:beamId``: the fields to change."""

    beam_id: str = Field(max_length=300)
    mode: str | None = None
    allowlist: list[str] | None = None
    blocklist: list[str] | None = None
    min_trust: float | int | None = None
    rate_limit: int | None = None


class PartnerCreateArgs(_Args):
    """``POST /beta-requests``."""

    email: str = Field(max_length=300)
    company: str | None = Field(default=None, max_length=300)
    agent_count: int | None = None
    workflow_type: str | None = Field(default=None, max_length=200)


class ExportArgs(_Args):
    """Export evidence (the runbook's ``export_evidence``)."""

    datasets: list[str] = Field(min_length=1, max_length=6)
    format: str = "json"


class FaultRevertArgs(_Args):
    """Revert (fix) an active fault, by name or index."""

    fault: str | int


_FAULT = TypeAdapter(FaultSpec)


def _problem(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return f"{where}: {first['msg']}"


class Session:
    """The world under a GameDay, its drill, and the journal of what the people did."""

    def __init__(self, drill: DrillRun, *, wall: Callable[[], float] = time.time) -> None:
        self.drill = drill
        self.world = drill.world
        self.ctx = drill.ctx
        self.loaded = drill.loaded
        self.start = drill.method_start()
        self.end = drill.drill.duration
        self.wall = wall
        self.begun = False
        self.over = False
        self.finish_requested = False
        self.error: Exception | None = None
        self.journal = OperatorJournal(drill=self.loaded.name, seed=self.world.seed)
        #: Nonce → virtual time of each requeue the people made.
        self.requeued: dict[str, float] = {}
        #: Set by the server: pause, resume and speed go to it.
        self.pace: Any = None

    # -- time ----------------------------------------------------------------------------

    @property
    def now(self) -> float:
        """The world's virtual time."""
        return self.world.now

    def advance_to(self, target: float) -> None:
        """Run the world to ``target`` (at most the drill's end): the method begins at its
        start time, and at the end the events due then are processed and the session is over."""
        if self.over:
            return
        env, drill = self.world.env, self.drill
        target = min(target, self.end)
        try:
            if not self.begun:
                stop = min(target, self.start)
                if stop > env.now:
                    env.run(until=stop)
                if env.now < self.start:
                    return
                self.begun = True
                if not drill.begin():
                    self.over = True
                    return
            if target > env.now:
                env.run(until=target)
            if env.now >= self.end:
                while env.peek() <= self.end:
                    env.step()
                self.over = True
        except DrillAborted as aborted:
            drill.record.verdict, drill.record.reason = "aborted", str(aborted)
            self.over = True
        except Exception as problem:  # the world broke: the run ends and says why
            drill.failed(problem)
            self.error = problem
            self.over = True

    # -- actions -------------------------------------------------------------------------

    def act(self, actor: str, action: ActionName, arguments: dict[str, Any]) -> ApiResult:
        """Do ``action`` in the world now (or on the pace), journal it and answer as Beam does."""
        broke: list[Violation] = []
        if self.over and action in WORLD_ACTIONS:
            answer = error(409, "GAMEDAY_OVER", "the GameDay is over; nothing more enters the world")
        else:
            try:
                answer, broke = self._do(actor, action, dict(arguments))
            except ValidationError as exc:
                answer = error(400, "INVALID_REQUEST", _problem(exc))
        self.drill.record.violations += broke
        outcome = Outcome(status=answer.status, error_code=answer.error_code,
                          detail=None if answer.ok else answer.body.get("error"))
        self.journal.actions.append(OperatorAction(
            virtual_time=self.now, wall_time=datetime.fromtimestamp(self.wall(), timezone.utc).isoformat(),
            actor=actor, action=action, arguments=arguments, outcome=outcome, broke=[v.rule for v in broke]))
        if action in WORLD_ACTIONS:
            self.drill.record.method.append(Activity(
                name=f"{actor}: {action}", type="action", kind=action, phase="method", start=self.now, end=self.now,
                status="succeeded" if answer.ok else "failed", output={"status": answer.status, **arguments},
                tolerance="no runbook rule broken" if broke else None, tolerance_met=False if broke else None))
        return answer

    def _judge(self, step: steps.StepBase) -> list[Violation]:
        return violations(self.ctx, step)

    def _do(self, actor: str, action: str, args: dict[str, Any]) -> tuple[ApiResult, list[Violation]]:
        world, ctx = self.world, self.ctx
        if action == "inbox.patch":
            item_id = args.pop("id", None)
            if not isinstance(item_id, int) or isinstance(item_id, bool):
                return error(400, "INVALID_NOTIFICATION_ID", "id must be an integer"), []
            answer = world.inbox.patch(item_id, args, role="operator", actor=actor)
            if answer.ok:
                kind = "acknowledge" if args.get("status") == "acknowledged" else "set_owner"
                ctx.performed.append((world.now, kind))
            return answer, []
        if action == "dead_letter.requeue":
            requeue = RequeueArgs.model_validate(args)
            message = world.bus.get_message(requeue.id)
            if message is None:
                return error(404, "MESSAGE_NOT_FOUND", f"Message {requeue.id} not found"), []
            broke = self._judge(steps.RequeueDeadLetters(action="requeue_dead_letters", name=f"requeue {requeue.id}"))
            done = world.requeue(requeue.id)
            if done.triggered:
                response: Any = done.value  # the bus's answer: http_status and body
                if not 200 <= response.http_status < 300:
                    return ApiResult(status=response.http_status, body=dict(response.body)), []
            ctx.performed.append((world.now, "requeue_dead_letters"))
            self.requeued[message.nonce] = world.now
            return ok({"message_id": message.id, "nonce": message.nonce, "requeued": True,
                       "status": message.status}, status=202), broke
        if action == "prune":
            prune = PruneArgs.model_validate(args)
            older = None if prune.older_than_days is None else float(prune.older_than_days)
            broke = []
            if prune.dataset in ("intents", "traces", "audit", "shield"):
                broke = self._judge(steps.Prune.model_validate({"action": "prune", "dataset": prune.dataset}))
            answer = world.pruner.prune(prune.dataset, older, confirm_dataset=prune.confirm_dataset,
                                        confirm_phrase=prune.confirm_phrase, role="admin", actor=actor)
            if answer.ok:
                ctx.performed.append((world.now, "prune"))
            return answer, broke if answer.ok else []
        if action in ("acl.add", "acl.remove"):
            acl = AclArgs.model_validate(args)
            try:
                entry = AclEntry(target=acl.target_beam_id, intent=acl.intent_type, allowed_from=acl.allowed_from)
            except ValidationError as exc:
                return error(400, "INVALID_ACL", _problem(exc)), []
            if action == "acl.remove":
                if not world.remove_acl_entry(entry):
                    return error(404, "NOT_FOUND", "no ACL entry is exactly that"), []
                return ok({"ok": True, "deleted": entry.model_dump()}), []
            broke = self._judge(steps.AddAclEntry(action="add_acl_entry", target=entry.target, intent=entry.intent,
                                                  allowed_from=entry.allowed_from))
            world.add_acl_entry(entry)
            ctx.performed.append((world.now, "add_acl_entry"))
            return ok({"ok": True, "acl": entry.model_dump()}, status=201), broke
        if action == "shield.update":
            shield = ShieldArgs.model_validate(args)
            current = world.shield_config(shield.beam_id)
            if current is None:
                return error(404, "NOT_FOUND", f"Agent {shield.beam_id} not found"), []
            changes = shield.model_dump(exclude={"beam_id"}, exclude_none=True)
            try:
                spec = ShieldSpec.model_validate({**current.model_dump(), **changes})
            except ValidationError as exc:
                return error(400, "INVALID_SHIELD_CONFIG", _problem(exc)), []
            world.set_shield_config(shield.beam_id, spec)
            return ok({"ok": True, "beamId": shield.beam_id, "config": _shield_view(spec)}), []
        if action == "partner_request.create":
            create = PartnerCreateArgs.model_validate(args)
            return world.partners.create(create.email, create.company, create.agent_count, create.workflow_type), []
        if action == "partner_request.patch":
            request_id = args.pop("id", None)
            if not isinstance(request_id, int) or isinstance(request_id, bool):
                return error(400, "INVALID_REQUEST_ID", "id must be an integer"), []
            return world.partners.patch(request_id, args, role="operator", actor=actor), []
        if action == "evidence.export":
            export = ExportArgs.model_validate(args)
            try:
                step = steps.ExportEvidence.model_validate({"action": "export_evidence", "datasets": export.datasets,
                                                            "format": export.format})
            except ValidationError as exc:
                return error(400, "INVALID_EXPORT", _problem(exc)), []
            try:
                files = actions.perform(ctx, step)
            except actions.StepFailed as failed:
                return error(409, "EXPORT_FAILED", str(failed)), []
            return ok({"ok": True, "files": files}), []
        if action == "fault.revert":
            revert = FaultRevertArgs.model_validate(args)
            index = self._fault_index(revert.fault)
            if index is None:
                return error(404, "NOT_FOUND", f"no fault {revert.fault!r} in this GameDay"), []
            if not world.end_fault(index):
                return error(409, "INVALID_STATE", f"fault {revert.fault!r} is not active"), []
            ctx.performed.append((world.now, "fix_root_cause"))
            return ok({"ok": True, "reverted": index}), []
        if action == "fault.inject":
            given = args.get("fault")
            if not isinstance(given, dict) or set(args) != {"fault"}:
                return error(400, "INVALID_FAULT", "the body must be {\"fault\": a scenario fault spec}"), []
            try:
                fault = _FAULT.validate_python({"at": 0, **given})
            except ValidationError as exc:
                return error(400, "INVALID_FAULT", _problem(exc)), []
            problem = self._fault_problem(fault)
            if problem is not None:
                return error(400, "INVALID_FAULT", problem), []
            return ok({"ok": True, "injected": world.inject_fault(fault)}, status=201), []
        return self._pace(action, args), []

    def _fault_index(self, fault: str | int) -> int | None:
        faults = self.world.scenario.faults
        if isinstance(fault, int):
            return fault if 0 <= fault < len(faults) else None
        return next((index for index, spec in enumerate(faults) if spec.name == fault), None)

    def _fault_problem(self, fault: Any) -> str | None:
        world = self.world
        agent = getattr(fault, "agent", None)
        if agent is not None and agent not in world.agents:
            return f"agent: expected an agent of this world, found {agent!r}"
        if fault.kind == "injection":
            return "kind: injection faults start with the scenario; inject another kind"
        return None

    def _pace(self, action: str, args: dict[str, Any]) -> ApiResult:
        pace = self.pace
        if action == "gameday.finish":
            if args:
                return error(400, "INVALID_REQUEST", "finish takes no arguments")
            self.finish_requested = True
            return ok({"ok": True, "finishing": True, "virtualTime": self.now}, status=202)
        if pace is None:
            return error(409, "NOT_PACED", "this session has no pacer")
        if action == "pace.pause":
            return ok({"ok": True, "paused": True}) if pace.pause() else error(409, "INVALID_STATE", "already paused")
        if action == "pace.resume":
            return ok({"ok": True, "paused": False}) if pace.resume() else error(409, "INVALID_STATE", "not paused")
        speed = args.get("speed")
        if (not isinstance(speed, (int, float)) or isinstance(speed, bool) or not 0 < speed <= MAX_SPEED
                or set(args) != {"speed"}):
            return error(400, "INVALID_SPEED", f"speed must be a number above 0 and at most {MAX_SPEED:g}")
        pace.set_speed(float(speed))
        return ok({"ok": True, "speed": float(speed)})

    # -- replay --------------------------------------------------------------------------

    def replay(self, journal: OperatorJournal) -> None:
        """Play ``journal``'s world actions into this (fresh) session at their virtual
        times, unpaced, then run to the end."""
        for entry in journal.actions:
            if entry.action not in WORLD_ACTIONS:
                continue
            self.advance_to(entry.virtual_time)
            self.act(entry.actor, entry.action, dict(entry.arguments))
        self.advance_to(self.end)


#: The fastest pace a facilitator may set (a day in 24 wall minutes).
MAX_SPEED = 3600.0


def _shield_view(spec: ShieldSpec) -> dict[str, Any]:
    return {"mode": spec.mode, "allowlist": spec.allowlist, "blocklist": spec.blocklist,
            "minTrust": spec.min_trust, "rateLimit": spec.rate_limit}


def shield_view(spec: ShieldSpec) -> dict[str, Any]:
    """A Shield config in Beam's wire shape (camelCase)."""
    return _shield_view(spec)
