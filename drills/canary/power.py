"""The judge's power across seeds: each rollout replicated over consecutive seeds, and how
often its change was caught (Failed) at the first canary step, rolled back in time,
promoted or left Inconclusive. For a harmful change the caught fraction is the judge's
power at the first step's exposure; for a harmless one, its false-alarm rate.

The runs are a rollout sweep's (:mod:`drills.sweep.rollouts`): ``beamdrill canary-power``
builds one sweep with a ``rollout`` axis and reads its records back here.
"""

from __future__ import annotations

from typing import Any, Callable

from drills.canary.rollout import RolloutFile
from drills.sweep.grid import Plan
from drills.sweep.rollouts import RolloutMeasures
from drills.sweep.stats import Records, wilson
from simulator.kernel.fields import Model


class Proportion(Model):
    """A count out of the replications, its fraction and Wilson's 95 % interval."""

    count: int
    fraction: float
    low: float
    high: float


def proportion(count: int, total: int) -> Proportion:
    """``count`` of ``total`` with Wilson's 95 % score interval (``scipy.stats.binomtest``), rounded to 6 places."""
    if total == 0:
        return Proportion(count=0, fraction=0.0, low=0.0, high=1.0)
    low, high = wilson(count, total)
    return Proportion(count=count, fraction=round(count / total, 6), low=round(low, 6), high=round(high, 6))


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


def _outcome(record: dict[str, Any]) -> tuple[SeedOutcome, RolloutMeasures]:
    measures = RolloutMeasures.model_validate(record["measures"])
    return SeedOutcome(seed=record["seed"], decision=measures.decision, reason=measures.reason,
                       decided_at_step=measures.decided_at_step,
                       first_step_exposure_pct=measures.first_step_exposure_pct,
                       rollback_seconds=measures.rollback_seconds,
                       rolled_back_within_limit=measures.rolled_back_within_limit,
                       blast_radius_intents=measures.blast_radius_intents), measures


def power_rows(plan: Plan, records: Records) -> list[RolloutPower]:
    """One row per cell of a rollout sweep's plan, from the runs that finished (in seed order)."""
    rows = []
    for cell in plan.cells:
        assert cell.rollout is not None
        spec = RolloutFile.model_validate(cell.rollout)
        found = [records[(cell.index, k)] for k in range(len(plan.seeds)) if (cell.index, k) in records]
        outcomes = [_outcome(record) for record in found if record["status"] == "ok"]
        total = len(outcomes)

        def count(test: Callable[[RolloutMeasures], bool]) -> Proportion:
            return proportion(sum(1 for _, measures in outcomes if test(measures)), total)

        rows.append(RolloutPower(
            rollout=spec.name, change=spec.change.describe(), replications=total,
            caught_at_first_step=count(lambda m: m.caught_at_first_step), failed=count(lambda m: m.failed),
            inconclusive=count(lambda m: m.inconclusive), promoted=count(lambda m: m.promoted),
            rolled_back_within_limit=count(lambda m: m.rolled_back_within_limit),
            seeds=[outcome for outcome, _ in outcomes]))
    return rows


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
