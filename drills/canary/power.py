"""The judge's power across seeds: each rollout replicated over consecutive seeds, and how
often its change was caught (Failed) at the first canary step, rolled back in time,
promoted or left Inconclusive. For a harmful change the caught fraction is the judge's
power at the first step's exposure; for a harmless one, its false-alarm rate."""

from __future__ import annotations

import math
from typing import Callable

from drills.canary.rollout import Rollout
from drills.canary.runner import result_of, run_steps, start
from simulator.kernel.fields import Model


class Proportion(Model):
    """A count out of the replications, its fraction and Wilson's 95 % interval."""

    count: int
    fraction: float
    low: float
    high: float


def proportion(count: int, total: int, z: float = 1.959964) -> Proportion:
    """``count`` of ``total`` with Wilson's score interval (95 % by default)."""
    if total == 0:
        return Proportion(count=0, fraction=0.0, low=0.0, high=1.0)
    p = count / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return Proportion(count=count, fraction=round(p, 6), low=round(max(0.0, centre - half), 6),
                      high=round(min(1.0, centre + half), 6))


class SeedOutcome(Model):
    """One replication: its seed, decision, the step it was decided at, the rollback time
    and the intents that saw the change."""

    seed: int
    decision: str
    reason: str
    decided_at_step: int | None
    first_step_exposure_pct: float | None
    rollback_seconds: float | None
    rolled_back_within_limit: bool
    blast_radius_intents: int


class RolloutPower(Model):
    """One rollout over every seed."""

    rollout: str
    change: str
    replications: int
    caught_at_first_step: Proportion
    failed: Proportion
    inconclusive: Proportion
    promoted: Proportion
    rolled_back_within_limit: Proportion
    seeds: list[SeedOutcome]


def rollout_power(rollout: Rollout, seeds: list[int], stop: Callable[[], None]) -> RolloutPower:
    """Run ``rollout`` once per seed (no telemetry) and count its outcomes."""
    outcomes = []
    first_canary = next((index for index, step in enumerate(rollout.rollout.steps) if step.action == "canary"), None)
    for seed in seeds:
        run = start(rollout, seed)
        run_steps(run, stop)
        result = result_of(run, [])
        last = result.intervals[-1] if result.intervals else None
        first = next((step.get("exposure_pct") for step in result.steps if step["action"] == "canary"), None)
        outcomes.append(SeedOutcome(seed=seed, decision=result.decision, reason=result.reason,
                                    decided_at_step=None if last is None else last.step,
                                    first_step_exposure_pct=first,
                                    rollback_seconds=None if result.rollback is None else result.rollback.seconds,
                                    rolled_back_within_limit=result.rollback is not None
                                    and result.rollback.completed_within_5_minutes,
                                    blast_radius_intents=result.blast_radius.intents))
    total = len(outcomes)

    def count(test: Callable[[SeedOutcome], bool]) -> Proportion:
        return proportion(sum(1 for outcome in outcomes if test(outcome)), total)

    return RolloutPower(
        rollout=rollout.rollout.name, change=rollout.rollout.change.describe(), replications=total,
        caught_at_first_step=count(lambda o: o.decision == "Failed" and o.decided_at_step == first_canary),
        failed=count(lambda o: o.decision == "Failed"), inconclusive=count(lambda o: o.decision == "Inconclusive"),
        promoted=count(lambda o: o.decision == "Successful"),
        rolled_back_within_limit=count(lambda o: o.rolled_back_within_limit), seeds=outcomes)


def power_text(rows: list[RolloutPower], seeds: list[int]) -> str:
    """``power.md``: one row per rollout."""
    def shown(value: Proportion) -> str:
        total = rows[0].replications if rows else 0
        return f"{value.count}/{total} ({value.fraction:.0%}, 95 % CI {value.low:.0%}–{value.high:.0%})"
    lines = [f"# The canary judge's power over seeds {seeds[0]}–{seeds[-1]}", "",
             "| rollout | change | caught at the first canary step | failed | inconclusive | promoted | "
             "rolled back within the limit |", "|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row.rollout} | {row.change} | {shown(row.caught_at_first_step)} | {shown(row.failed)} | "
                     f"{shown(row.inconclusive)} | {shown(row.promoted)} | {shown(row.rolled_back_within_limit)} |")
    lines += ["", "For a harmful change, *caught at the first canary step* is the judge's power at that "
              "step's exposure; for a harmless one, *failed* is its false-alarm rate.", ""]
    return "\n".join(lines)
