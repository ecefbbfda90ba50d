"""Running a drill: the steady state before the method, the method (faults already in the
scenario, operator steps, expectations and guards as SimPy processes on the world's
clock), the rollbacks, the steady state after, and the verdict.

Verdicts follow Chaos Toolkit: ``completed`` when everything held, ``deviated`` when an
expectation or steady-state probe did not hold or a runbook order rule was broken,
``failed`` when the drill could not run (the steady state did not hold before the method,
or the world broke), ``aborted`` when a guard failed. Whatever happened, the run
directory gets every file it can (:func:`drills.runs.runner.run_world`), then the journal,
the chart and the proof pack.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Generator, Literal

import simpy

from drills.executor import actions
from drills.executor import observe as probes
from drills.proofpack.samples import Sample
from drills.executor.context import DrillContext
from drills.executor.drillseries import drill_event_text, drill_spans
from drills.drillfile.loader import LoadedDrill
from drills.executor.journal import Activity, Deviation, ExpectationWarning, Journal, Phase, Verdict, Violation
from drills.executor.vacuous import first_action, held_too_early
from drills.executor.orderrules import violations
from drills.proofpack.redact import redact_run, without_payloads
from drills.proofpack.report import write_report
from drills.runs.files import atomic_stream, shown_path, write_json
from drills.runs.runner import Outputs, RunReport, describe_error, run_world
from drills.drillfile.probes import NonceTarget, ProbeBase
from drills.drillfile.steps import StepBase
from simulator import ConservationError, HistoryError
from simulator.kernel.gctune import tuned_gc
from simulator.kernel.illegal import IllegalTransition
from simulator.summary import Summary
from simulator.world import World

#: How often a deadline expectation (``by``) looks again, in virtual seconds.
POLL_INTERVAL = 1.0
#: How many chart samples a drill takes over its duration.
SAMPLES = 300
#: Virtual seconds between the metric scrapes written to a drill's metrics.om.
SCRAPE_INTERVAL = 15.0


class DrillAborted(Exception):
    """A guard failed: the drill stops where it is."""


@dataclass
class DrillOutcome:
    """A finished drill: its journal, where its files are, and the wall time it took."""

    journal: Journal
    out: Path
    wall: float
    run: RunReport | None = None

    @property
    def verdict(self) -> Verdict:
        """The drill's verdict."""
        return self.journal.status


@dataclass
class _Record:
    """What a drill run collects while the world runs."""

    before: list[Activity] = field(default_factory=list)
    after: list[Activity] = field(default_factory=list)
    method: list[Activity] = field(default_factory=list)
    rollbacks: list[Activity] = field(default_factory=list)
    deviations: list[Deviation] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    warnings: list[ExpectationWarning] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    pending: dict[int, ProbeBase] = field(default_factory=dict)
    held: int = 0
    verdict: Verdict | None = None
    reason: str | None = None


def scenario_digest(loaded: LoadedDrill) -> str:
    """A SHA-256 of the fully resolved scenario (with the drill's faults and overrides)."""
    document = json.dumps(loaded.scenario.model_dump(mode="json", by_alias=True), sort_keys=True)
    return "sha256:" + hashlib.sha256(document.encode()).hexdigest()


class DrillRun:
    """One run of one drill in one world: :meth:`run` drives it, or a driver of its own
    (the GameDay's pacer) calls :meth:`begin`, advances the world and calls :meth:`conclude`."""

    def __init__(self, loaded: LoadedDrill, world: World, progress: Callable[[float], None] | None) -> None:
        self.loaded = loaded
        self.drill = loaded.drill
        self.world = world
        self.env = world.env
        self.ctx = DrillContext(loaded, world)
        self.progress = progress
        self.record = _Record()
        self.first_action = first_action(loaded)
        world.subscribe(self.ctx)

    # -- checking ----------------------------------------------------------------------

    def _probe(self, probe: ProbeBase, phase: Phase, start: float) -> Activity:
        observed = probes.observe(self.ctx, probe)
        met = probe.holds(observed)
        return Activity(name=probes.label(probe), type="probe", kind=getattr(probe, "probe"), phase=phase,
                        start=start, end=self.env.now, status="succeeded", output=observed,
                        tolerance=probe.describe(), tolerance_met=met)

    def _steady_state(self, found: list[Any], phase: Phase, into: list[Activity]) -> bool:
        for probe in found:
            activity = self._probe(probe, phase, self.env.now)
            into.append(activity)
            if not activity.tolerance_met:
                self.record.deviations.append(Deviation(name=activity.name, expected=activity.tolerance or "",
                                                        observed=activity.output, time=self.env.now, phase=phase))
        return all(activity.tolerance_met for activity in into)

    def _expect(self, index: int, probe: ProbeBase) -> Generator[simpy.Event, Any, None]:
        env = self.env
        first = probe.at if probe.at is not None else probe.after
        if first > env.now:
            yield env.timeout(first - env.now)
        start = env.now
        activity = self._probe(probe, "method", start)
        warning = held_too_early(activity.name, start, self.first_action) if activity.tolerance_met else None
        if warning is not None:
            self.record.warnings.append(warning)
        while not activity.tolerance_met and probe.by is not None and env.now + POLL_INTERVAL <= probe.by:
            yield env.timeout(POLL_INTERVAL)
            activity = self._probe(probe, "method", start)
        self._conclude(index, activity)

    def _conclude(self, index: int, activity: Activity) -> None:
        self.record.pending.pop(index, None)
        self.record.method.append(activity)
        if activity.tolerance_met:
            self.record.held += 1
        else:
            self.record.deviations.append(Deviation(name=activity.name, expected=activity.tolerance or "",
                                                    observed=activity.output, time=activity.end, phase="method"))

    def _guard(self) -> Generator[simpy.Event, Any, None]:
        while True:
            yield self.env.timeout(self.drill.guard_interval)
            for probe in self.drill.guards:
                activity = self._probe(probe, "guard", self.env.now)
                if not activity.tolerance_met:
                    self.record.method.append(activity)
                    raise DrillAborted(f"guard {activity.name!r} failed at t={self.env.now:g}s: "
                                       f"expected {activity.tolerance}, observed {activity.output!r}")

    def _step(self, step: StepBase, phase: Phase) -> Activity:
        broken = violations(self.ctx, step)
        self.record.violations += broken
        status: Literal["succeeded", "failed"] = "succeeded"
        try:
            output = actions.perform(self.ctx, step)
        except actions.StepFailed as error:
            output, status = {"error": str(error)}, "failed"
            self.record.deviations.append(Deviation(name=actions.label(step), expected="the step can be done",
                                                    observed=str(error), time=self.env.now, phase=phase))
        return Activity(name=actions.label(step), type="action", kind=getattr(step, "action"), phase=phase,
                        start=self.env.now, end=self.env.now, status=status, output=output,
                        tolerance="no runbook rule broken" if broken else None,
                        tolerance_met=not broken if broken else None)

    def _play(self, step: StepBase) -> Generator[simpy.Event, Any, None]:
        if step.at is not None and step.at > self.env.now:
            yield self.env.timeout(step.at - self.env.now)
        self.record.method.append(self._step(step, "method"))

    def _sample(self) -> None:
        self.record.samples.append(Sample.of(self.world))

    def _sampler(self, interval: float) -> Generator[simpy.Event, Any, None]:
        while True:
            self._sample()
            yield self.env.timeout(interval)

    # -- running -----------------------------------------------------------------------

    def _advance(self, until: float, slices: int = 1) -> None:
        """Run the world to ``until`` inclusive: events at exactly ``until`` are processed."""
        env = self.env
        start = env.now
        for index in range(1, slices + 1):
            target = start + (until - start) * index / slices
            if target > env.now:
                env.run(until=target)
            if self.progress is not None:
                self.progress(env.now)
        while env.peek() <= until:
            env.step()

    def method_start(self) -> float:
        """When the method begins: the first fault or operator step."""
        times = [fault.at for fault in self.drill.faults] + [step.at or 0.0 for step in self.drill.steps]
        return min(times, default=0.0)

    def begin(self) -> bool:
        """At the method's start: the steady state before, then the method's samples,
        expectations, steps and guards as processes; False (verdict ``failed``) when the
        steady state did not hold."""
        drill, record, env = self.drill, self.record, self.env
        if not self._steady_state(drill.steady_state.before, "steady-state-before", record.before):
            record.verdict, record.reason = "failed", "the steady state did not hold before the method"
            return False
        env.process(self._sampler(max(drill.duration / SAMPLES, 0.5)))
        for index, probe in enumerate(drill.expectations):
            record.pending[index] = probe
            env.process(self._expect(index, probe))
        for step in drill.steps:
            env.process(self._play(step))
        if drill.guards:
            env.process(self._guard())
        return True

    def conclude(self) -> None:
        """After the method: the expectations still pending, the rollbacks, the settle time
        and the steady state after (unless a guard aborted), and a last sample."""
        drill, record, env = self.drill, self.record, self.env
        for index, pending in sorted(record.pending.items()):
            self._conclude(index, self._probe(pending, "method", env.now))
        for step in drill.rollbacks:
            record.rollbacks.append(self._step(step, "rollback"))
        if record.verdict != "aborted":
            self._advance(env.now + drill.settle)
            self._steady_state(drill.steady_state.after, "steady-state-after", record.after)
        self._sample()

    def failed(self, error: Exception) -> None:
        """Record that the drill could not go on because of ``error``."""
        record = self.record
        record.verdict = "failed"
        record.reason = record.reason or (f"{type(error).__name__}: {error}"
                                          if isinstance(error, (ConservationError, IllegalTransition))
                                          else describe_error(error))

    def run(self, world: World, end: float) -> Summary:
        """The whole drill, as :func:`run_world`'s run function."""
        drill, record, env = self.drill, self.record, self.env
        with tuned_gc():
            try:
                start = self.method_start()
                if start > env.now:
                    env.run(until=start)
                if not self.begin():
                    return self.summary()
                try:
                    self._advance(drill.duration, slices=50)
                except DrillAborted as aborted:
                    record.verdict, record.reason = "aborted", str(aborted)
                self.conclude()
            except Exception as error:
                self.failed(error)
                raise
        return self.summary()

    def summary(self) -> Summary:
        """The world's summary now; raises (verdict ``failed``) when nothing may be trusted."""
        summary = self.world.summary()
        if summary.conservation:
            self.record.verdict = "failed"
            self.record.reason = "ConservationError: " + "; ".join(summary.conservation)
            raise ConservationError("; ".join(summary.conservation))
        if summary.history is not None and not summary.history.valid:
            self.record.verdict = "failed"
            self.record.reason = "HistoryError: " + "; ".join(summary.history.problems)
            raise HistoryError("; ".join(summary.history.problems))
        return summary

    def verdict(self) -> Verdict:
        """The verdict from what was recorded."""
        record = self.record
        if record.verdict is not None:
            return record.verdict
        return "deviated" if record.deviations or record.violations else "completed"

    def event_series(self, epoch_s: float) -> str:
        """The drill's faults and operator steps as the ``beamdrill_drill_event`` family."""
        end = self.world.now
        spans = drill_spans(self.ctx.fault_log, self.ctx.performed, end)
        return drill_event_text(spans, end, SCRAPE_INTERVAL, epoch_s)

    def affected_nonces(self, limit: int = 8) -> list[str]:
        """Nonces the report shows traces of: those the drill looked at, sent, or saw fail."""
        found: dict[str, None] = {}
        for probe in [*self.drill.expectations, *self.drill.steady_state.after]:
            nonce = self.ctx.nonce(probe) if isinstance(probe, NonceTarget) else None
            if nonce:
                found[nonce] = None
        for nonce in self.world.troubled_bus_nonces():
            found[nonce] = None
        for nonce in self.ctx.sent:
            found[nonce] = None
        return [nonce for nonce in found if nonce in self.ctx.events][:limit]


def _record_drill(result_file: Path, loaded: LoadedDrill, journal: Journal) -> None:
    """Add the verdict and the fully resolved drill (every default written out) to
    result.json, and drop the payloads its resolved scenario and drill hold."""
    if not result_file.is_file():
        return
    document = json.loads(result_file.read_text(encoding="utf-8"))
    document["drill"] = {"name": loaded.name, "file": shown_path(loaded.path), "verdict": journal.status,
                         "reason": journal.reason, "resolved": loaded.drill.model_dump(mode="json", by_alias=True)}
    write_json(result_file, without_payloads(document))


#: Drives a drill run instead of :meth:`DrillRun.run` (the GameDay paces it in real time).
Driver = Callable[[DrillRun, World, float], Summary]


def run_drill(loaded: LoadedDrill, out: Path, seed: int | None = None,
              progress: Callable[[float], None] | None = None, driver: Driver | None = None) -> DrillOutcome:
    """Run ``loaded`` into directory ``out`` and return its outcome; never raises for a
    drill that deviates, aborts or fails: the verdict says so and the files say why.
    ``driver``, when given, drives the world in place of :meth:`DrillRun.run`."""
    started = time.perf_counter()
    world = World(loaded.scenario, seed)
    world.check_history()
    drill = DrillRun(loaded, world, progress)
    out.mkdir(parents=True, exist_ok=True)
    report: RunReport | None = None
    try:
        outputs = Outputs(out, events=True, scrape_interval=SCRAPE_INTERVAL, more_metrics=drill.event_series)
        run = drill.run if driver is None else (lambda world, end: driver(drill, world, end))
        report = run_world(world, loaded.scenario_file, loaded.drill.duration, outputs, run)
    except Exception as error:  # the drill could not run; keep what there is and say why
        drill.record.verdict, drill.record.reason = "failed", describe_error(error)
    record = drill.record
    if report is not None and report.interrupted is not None:
        record.verdict = "interrupted"
        record.reason = f"interrupted by {report.interrupted.name} at t={world.now:g}s"
    samples = record.samples
    files = list(report.files) if report is not None else []
    for evidence in drill.ctx.evidence:
        with atomic_stream(out / evidence.filename) as stream:
            stream.write(evidence.text)
        files.append(evidence.filename)
    journal = Journal(
        drill=loaded.name, title=loaded.drill.title, rehearses=loaded.drill.rehearses, file=shown_path(loaded.path),
        seed=world.seed, scenario_file=shown_path(loaded.scenario_file), scenario_digest=scenario_digest(loaded),
        status=drill.verdict(), reason=record.reason, virtual_duration=world.now,
        expectations_held=record.held, expectations_total=len(loaded.drill.expectations),
        steady_states={"before": record.before, "after": record.after}, run=record.method,
        rollbacks=record.rollbacks, deviations=record.deviations, violations=record.violations,
        warnings=record.warnings, affected_nonces=drill.affected_nonces(), files=files + ["journal.json", "chart.png", "report.md"])
    write_json(out / "journal.json", without_payloads(journal.model_dump(mode="json")))
    _record_drill(out / "result.json", loaded, journal)
    from drills.proofpack.chart import render_chart  # Matplotlib is slow to import, so here

    render_chart(samples, drill.ctx.fault_log, out / "chart.png", f"{loaded.name} (seed {world.seed})")
    write_report(out, journal, world, drill.ctx)
    redact_run(out)
    return DrillOutcome(journal, out, time.perf_counter() - started, report)
