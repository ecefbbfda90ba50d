"""The evidence ``beamdrill gate`` reads: the result directories of ``beamdrill run``,
``beamdrill drill run`` and ``beamdrill canary``, recognised by what they hold.

- a **run** (``result.json`` without ``drill`` or ``decision``): its resolved scenario (SLOs,
  capability template, operations block, partner requests), ``events.jsonl``,
  ``traces.otlp.jsonl`` and ``partner-requests.json`` when written;
- a **drill run** (``summary.json`` with ``drills``): each drill's verdict;
- a **canary** (``result.json`` with ``decision``): the decision, the rollback and the
  resolved rollout (see :class:`CanaryResult` for the fields read).

A directory that is none of these, or a file that is not what it should be, is bad input.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from drills.runs.drillsummary import DrillRunSummary
from simulator import InputError, Problem, Scenario
from simulator.kernel.problems import validation_problems


class EvidenceError(InputError):
    """An evidence directory or file is not what the gate can read."""


class _Lenient(BaseModel):
    """Another command's file: only the fields the gate reads are checked."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class RolloutStepView(_Lenient):
    """One step of a canary's resolved rollout, as far as the gate reads it."""

    action: str | None = None
    weight: float | None = None
    max_tenant_exposure_pct: float | None = None


class RolloutView(_Lenient):
    """A canary's resolved rollout, as far as the gate reads it."""

    steps: list[RolloutStepView] = []
    shadow_period: float | None = None
    max_tenant_exposure_pct: float | None = None

    def first_exposure_pct(self) -> float | None:
        """The first canary step's tenant exposure: ``steps[0].max_tenant_exposure_pct``,
        else the ``weight`` of the first step whose action is ``canary``."""
        if self.steps and self.steps[0].max_tenant_exposure_pct is not None:
            return self.steps[0].max_tenant_exposure_pct
        return next((step.weight for step in self.steps if step.action == "canary"), None)

    def starts_with_canary(self) -> bool:
        """Whether the first step that exposes tenants is a canary step."""
        if self.steps and self.steps[0].max_tenant_exposure_pct is not None:
            return True
        exposing = [step for step in self.steps if step.action not in ("shadow", "pause")]
        return bool(exposing) and exposing[0].action == "canary"

    def has_shadow_period(self) -> bool:
        """A positive ``shadow_period``, or a ``shadow`` step before the first canary step."""
        if self.shadow_period:
            return True
        for step in self.steps:
            if step.action == "canary":
                return False
            if step.action == "shadow":
                return True
        return False


class RollbackView(_Lenient):
    """A canary's rollback: whether it completed within 5 minutes, and in how long."""

    completed_within_5_minutes: bool
    seconds: float | None = None


class CanaryResult(_Lenient):
    """The fields of a canary's ``result.json`` the gate reads."""

    decision: Literal["Successful", "Failed", "Inconclusive"]
    rollback: RollbackView | None = None
    rollout: RolloutView


@dataclass(frozen=True)
class RunEvidence:
    """A ``beamdrill run`` result directory."""

    directory: Path
    scenario: Scenario

    def path(self, name: str) -> Path:
        """The path of one of its files."""
        return self.directory / name

    def has(self, name: str) -> bool:
        """Whether it holds file ``name``."""
        return (self.directory / name).is_file()


@dataclass(frozen=True)
class DrillRunEvidence:
    """A ``beamdrill drill run`` result directory."""

    directory: Path
    summary: DrillRunSummary


@dataclass(frozen=True)
class CanaryEvidence:
    """A ``beamdrill canary`` result directory."""

    directory: Path
    result: CanaryResult


@dataclass
class Evidence:
    """Everything the given directories hold, by kind."""

    runs: list[RunEvidence] = field(default_factory=list)
    drill_runs: list[DrillRunEvidence] = field(default_factory=list)
    canaries: list[CanaryEvidence] = field(default_factory=list)
    #: Each run's events and traces once read (see :func:`drills.gate.checks.run_facts`).
    facts: dict[Path, tuple[EventFacts, TraceFacts]] = field(default_factory=dict)


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise EvidenceError([Problem(file=str(path), field="(file)", message=f"expected a JSON document: {error}")]) \
            from None


def _validated(model: type[BaseModel], data: Any, path: Path) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise EvidenceError(validation_problems(error, str(path), model)) from None


def read_directory(directory: Path, evidence: Evidence) -> None:
    """Add what ``directory`` holds to ``evidence``; raise :class:`EvidenceError` if it is none of the three kinds."""
    summary, result = directory / "summary.json", directory / "result.json"
    if summary.is_file() and isinstance(document := _json(summary), dict) and "drills" in document:
        evidence.drill_runs.append(DrillRunEvidence(directory, _validated(DrillRunSummary, document, summary)))
    elif result.is_file():
        document = _json(result)
        if not isinstance(document, dict):
            raise EvidenceError([Problem(file=str(result), field="(top level)", message="expected a JSON object")])
        if "decision" in document:
            evidence.canaries.append(CanaryEvidence(directory, _validated(CanaryResult, document, result)))
        elif "drill" in document:
            raise EvidenceError([Problem(file=str(result), field="drill", message=(
                "expected a whole drill run's directory (the one holding summary.json), found one drill's"))])
        else:
            if "scenario" not in document:
                raise EvidenceError([Problem(file=str(result), field="scenario", message="missing; expected a run's "
                                             "result.json with its resolved scenario")])
            evidence.runs.append(RunEvidence(directory, _validated(Scenario, document["scenario"], result)))
    else:
        raise EvidenceError([Problem(file=str(directory), field="(directory)", message=(
            "expected a result directory of beamdrill run, drill run or canary (result.json or summary.json), "
            "found none" if directory.is_dir() else "expected a directory, found none"))])


def read_evidence(directories: list[Path]) -> Evidence:
    """Read every evidence directory."""
    evidence = Evidence()
    for directory in directories:
        read_directory(directory, evidence)
    return evidence


def json_lines(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of a JSON Lines file, one per line."""
    with path.open(encoding="utf-8") as stream:
        for number, line in enumerate(stream, 1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as error:
                raise EvidenceError([Problem(file=str(path), field=f"line {number}",
                                             message=f"expected a JSON object: {error}")]) from None


@dataclass
class EventFacts:
    """What ``events.jsonl`` says per nonce: admitted (accepted), relays, attempts, and the
    policy decisions (Shield decisions on relays, retry-budget refusals, breaker rejections)."""

    admitted: list[str] = field(default_factory=list)
    relays: Counter[str] = field(default_factory=Counter)
    attempts: Counter[str] = field(default_factory=Counter)
    shield: Counter[str] = field(default_factory=Counter)
    budget: Counter[str] = field(default_factory=Counter)
    breaker: Counter[str] = field(default_factory=Counter)


def event_facts(path: Path) -> EventFacts:
    """Read ``events.jsonl`` into :class:`EventFacts`."""
    facts = EventFacts()
    seen: set[str] = set()
    for event in json_lines(path):
        kind, nonce = event.get("kind"), event.get("nonce")
        if not isinstance(nonce, str):
            continue
        if kind == "transition" and event.get("from") is None and nonce not in seen:
            seen.add(nonce)
            facts.admitted.append(nonce)
        elif kind == "relay":
            facts.relays[nonce] += 1
            if event.get("shield") is not None:
                facts.shield[nonce] += 1
        elif kind == "attempt":
            facts.attempts[nonce] += 1
        elif kind == "retry_budget_refused":
            facts.budget[nonce] += 1
        elif kind == "breaker_rejected":
            facts.breaker[nonce] += 1
    return facts


@dataclass
class TraceFacts:
    """What ``traces.otlp.jsonl`` holds per nonce: its spans by operation (``send``,
    ``check``, ``deliver``, ``process``, ``settle``), the spans that carry each policy
    decision's attribute, and the sender → recipient pairs of the root spans."""

    spans: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    shield: Counter[str] = field(default_factory=Counter)
    budget: Counter[str] = field(default_factory=Counter)
    breaker: Counter[str] = field(default_factory=Counter)
    pairs: Counter[tuple[str, str]] = field(default_factory=Counter)


def _attribute(value: dict[str, Any]) -> Any:
    return next(iter(value.values()), None)


def trace_facts(path: Path) -> TraceFacts:
    """Read ``traces.otlp.jsonl`` into :class:`TraceFacts`."""
    facts = TraceFacts()
    for document in json_lines(path):
        for resource in document.get("resourceSpans", []):
            for scope in resource.get("scopeSpans", []):
                for span in scope.get("spans", []):
                    attributes = {item["key"]: _attribute(item.get("value", {})) for item in span.get("attributes", [])}
                    nonce = attributes.get("messaging.message.id")
                    if not isinstance(nonce, str):
                        continue
                    operation = str(span.get("name", "")).split(" ", 1)[0]
                    facts.spans[nonce][operation] += 1
                    if "beam.shield.decision" in attributes:
                        facts.shield[nonce] += 1
                    if attributes.get("beam.retry_budget.refused"):
                        facts.budget[nonce] += 1
                    if "beam.circuit_breaker.state" in attributes:
                        facts.breaker[nonce] += 1
                    if operation == "send":
                        facts.pairs[(str(attributes.get("beam.sender")),
                                     str(attributes.get("messaging.destination.name")))] += 1
    return facts
