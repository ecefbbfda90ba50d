"""The built-in studies' own report sections: what a sweep's numbers answer, in words.

A sweep file with ``study:`` gets, in ``report.md``, a section of its own after the
per-cell tables. Each study reads the axes it is built on by name:

- ``retry-policies``: ``policy`` (the bus's retry preset) and ``load``: per load, each
  policy's dead letters, p99 latency, attempts per intent and duplicates, best first.
- ``backoff-contention``: ``backoff`` (the clients' preset; ``fixed`` is read as "no
  backoff") and ``clients`` (the crowd's size): per crowd, each backoff's work (attempts),
  completion time and share delivered, then whether Brooker's published ordering holds.
- ``metastability``: ``clients`` (null: no client retries; a mapping: retries, with a
  retry budget when it has one), ``trigger`` (a fault; values of one ``kind`` in
  increasing size), ``duration`` and, optionally, ``load``: per clients mode and load, a
  map of trigger × duration, recovered or not and how fast, then whether the expected
  qualitative results hold (collapse with retries, recovery without them or with a budget,
  a boundary monotonic in trigger size, duration and base load).
- ``judge-power`` (a rollout sweep): per cell (``rollout`` × ``exposure``, or whatever
  axes the sweep has), how many runs the judge caught at the first canary step, out of how
  many, with Wilson's 95 % interval: the judge's power for a harmful change, its
  false-alarm rate for a harmless one; then the other decisions and the rollback times.

The sections only read the runs' measures; a study whose axes are missing says so.
"""

from __future__ import annotations

from typing import Any, Callable, Final

from drills.sweep.grid import Cell, Plan
from drills.sweep.model import Axis
from drills.sweep.stats import CellSummary, Records

#: Two works within this share of each other are "about equal" (Brooker's full ≈ equal).
ABOUT_EQUAL: Final[float] = 0.10


def study_section(plan: Plan, records: Records, summaries: list[CellSummary]) -> list[str]:
    """The report lines of the sweep's study (none without ``study:``)."""
    study = plan.sweep.study
    if study is None:
        return []
    sections: dict[str, Callable[[Plan, Records, list[CellSummary]], list[str]]] = {
        "retry-policies": _retry_policies, "backoff-contention": _backoff_contention,
        "metastability": _metastability, "judge-power": _judge_power}
    return ["", f"## Study: {study}", "", *sections[study](plan, records, summaries)]


# -- helpers ---------------------------------------------------------------------------


def _axes(plan: Plan, *names: str) -> list[Axis] | str:
    found = [plan.sweep.axis(name) for name in names]
    missing = [name for name, axis in zip(names, found) if axis is None]
    if missing:
        return f"This study reads the axes {', '.join(names)}; the sweep has no axis {', '.join(missing)}."
    return [axis for axis in found if axis is not None]


def _level(plan: Plan, cell: Cell, axis: Axis) -> Any:
    return cell.levels[plan.axes.index(axis)]


def _runs(records: Records, cell: Cell) -> list[dict[str, Any]]:
    return [record["measures"] for record in records.values()
            if record["cell"] == cell.index and record["status"] == "ok"]


def _mean(values: list[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return sum(present) / len(present) if present else None


def _number(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}g}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(row) + " |" for row in rows)]


def _groups(plan: Plan, by: list[Axis]) -> dict[tuple[int, ...], list[Cell]]:
    """Cells grouped by their positions on the axes ``by``, in grid order."""
    groups: dict[tuple[int, ...], list[Cell]] = {}
    for cell in plan.cells:
        key = tuple(cell.positions[plan.axes.index(axis)] for axis in by)
        groups.setdefault(key, []).append(cell)
    return groups


# -- judge-power -------------------------------------------------------------------------


def _judge_power(plan: Plan, records: Records, summaries: list[CellSummary]) -> list[str]:
    if not plan.sweep.is_rollout:
        return ["This study reads a rollout sweep's measures; this sweep runs no rollout."]
    lines = ["Per cell, over the seeds: how many runs the judge failed at the first canary step (for a harmful "
             "change, the judge's power at that step's exposure; for a harmless one, its false-alarm rate), with "
             "Wilson's 95 % interval, then how many failed at any step, paused Inconclusive, were promoted, and "
             "rolled back within the limit; mean rollback time (from the first harmful interval) and blast radius.",
             ""]

    def count(summary: CellSummary, name: str) -> str:
        value = summary.measures.get(name)
        if value is None or value.mean is None:
            return "—"
        shown = f"{round(value.mean * value.n)}/{value.n}"
        if name == "caught_at_first_step" and value.low is not None and value.high is not None:
            shown += f" ({value.mean:.0%}, {value.low:.0%}–{value.high:.0%})"
        return shown

    def mean(summary: CellSummary, name: str) -> str:
        value = summary.measures.get(name)
        return "—" if value is None else _number(value.mean)

    rows = []
    for cell, summary in zip(plan.cells, summaries):
        rows.append([*(axis.text(level) for axis, level in zip(plan.axes, cell.levels)),
                     *(count(summary, name) for name in ("caught_at_first_step", "failed", "inconclusive", "promoted",
                                                         "rolled_back_within_limit")),
                     mean(summary, "rollback_seconds"), mean(summary, "blast_radius_intents")])
    lines += _table([*(axis.label for axis in plan.axes), "caught at the first step (share, 95 % CI)", "failed",
                     "inconclusive", "promoted", "rolled back in time", "rollback s", "blast radius (intents)"], rows)
    lines.append("")
    return lines


# -- retry-policies ----------------------------------------------------------------------


def _retry_policies(plan: Plan, records: Records, summaries: list[CellSummary]) -> list[str]:
    axes = _axes(plan, "policy", "load")
    if isinstance(axes, str):
        return [axes]
    policy, load = axes
    lines = ["Means over the replications, per load; each column's best value is in bold (fewest dead letters, "
             "lowest p99, least amplification, fewest duplicates). Latency is over delivered intents only, so a "
             "policy that dead-letters what the outage hit (`none`) reads fastest.", ""]
    names = ("dead_letters", "latency_p99", "attempts_per_intent", "duplicated")
    for key, cells in _groups(plan, [load]).items():
        lines += [f"**load {load.text(load.values[key[0]])}**", ""]
        rows = []
        means = [[_mean([run[name] for run in _runs(records, cell)]) for name in names] for cell in cells]
        best = [min((value for value in (row[i] for row in means) if value is not None), default=None)
                for i in range(len(names))]
        for cell, row in zip(cells, means):
            shown = [(f"**{_number(value)}**" if value is not None and value == best[i] else _number(value))
                     for i, value in enumerate(row)]
            rows.append([policy.text(_level(plan, cell, policy)), *shown])
        lines += _table(["policy", "dead letters", "p99 latency (s)", "attempts per intent", "duplicated"], rows)
        lines.append("")
    return lines


# -- backoff-contention ------------------------------------------------------------------


def _backoff_contention(plan: Plan, records: Records, summaries: list[CellSummary]) -> list[str]:
    axes = _axes(plan, "backoff", "clients")
    if isinstance(axes, str):
        return [axes]
    backoff, clients = axes
    lines = ["Work is the attempts the clients made (each one reached the recipient's queue unless it was "
             "answered from the directory's nonce claim); completion time is when the last intent was delivered; "
             "delivered is the share of the crowd that got a success before its retries ran out.", ""]
    verdicts: list[str] = []
    for key, cells in _groups(plan, [clients]).items():
        crowd = clients.text(clients.values[key[0]])
        by_preset: dict[str, tuple[float | None, float | None, float | None]] = {}
        rows = []
        for cell in cells:
            runs = _runs(records, cell)
            work = _mean([run["attempts"] for run in runs])
            done = _mean([run["completion_time"] for run in runs])
            share = _mean([run["delivered"] / run["intents"] if run["intents"] else None for run in runs])
            value = _level(plan, cell, backoff)
            preset = value.get("preset", "?") if isinstance(value, dict) else str(value)
            by_preset[preset] = (work, done, share)
            rows.append([backoff.text(value), _number(work, 4), _number(done), _number(share)])
        lines += [f"**{crowd} clients**", ""]
        lines += _table(["backoff", "work (attempts)", "completion time (s)", "delivered"], rows)
        lines.append("")
        verdicts += _brooker_ordering(crowd, by_preset)
    lines += ["**Does Brooker's published ordering hold here?** (no-jitter exponential clearly worst in work and "
              f"in time; full ≈ equal jitter in work, within {ABOUT_EQUAL:.0%}; decorrelated somewhat more work "
              "than both)", "", *verdicts]
    return lines


def _brooker_ordering(crowd: str, by_preset: dict[str, tuple[float | None, float | None, float | None]]) -> list[str]:
    jittered = [name for name in ("full_jitter", "equal_jitter", "decorrelated_jitter") if name in by_preset]
    if "exponential" not in by_preset or not jittered:
        return [f"- {crowd} clients: the exponential preset or the jittered ones are not in the grid."]
    expo = by_preset["exponential"]
    complete = {name: values for name, values in by_preset.items() if values[2] is not None and values[2] >= 0.999}
    lines = []
    for index, what in ((0, "work"), (1, "completion time")):
        others = [by_preset[name][index] for name in jittered]
        mine = expo[index]
        worst = mine is not None and all(other is not None and mine > other for other in others)
        note = "" if all(name in complete for name in jittered) else \
            " (not every jittered run delivered the whole crowd, so its completion time flatters it)"
        lines.append(f"- {crowd} clients, {what}: exponential without jitter is "
                     f"{'the worst of the backoffs' if worst else 'not the worst'}"
                     f" ({_number(expo[index], 4)} against {', '.join(_number(o, 4) for o in others)}){note if index else ''}.")
    full, equal = by_preset.get("full_jitter"), by_preset.get("equal_jitter")
    if full is not None and equal is not None and full[0] and equal[0] is not None:
        gap = abs(full[0] - equal[0]) / full[0]
        lines.append(f"- {crowd} clients: full and equal jitter {'are' if gap <= ABOUT_EQUAL else 'are not'} about "
                     f"equal in work ({_number(full[0], 4)} and {_number(equal[0], 4)}, {gap:.0%} apart).")
    decorrelated = by_preset.get("decorrelated_jitter")
    if decorrelated is not None and decorrelated[0] is not None and full is not None and equal is not None \
            and full[0] is not None and equal[0] is not None:
        more = decorrelated[0] > max(full[0], equal[0])
        lines.append(f"- {crowd} clients: decorrelated jitter {'does' if more else 'does not do'} more work than "
                     f"full and equal ({_number(decorrelated[0], 4)}, "
                     f"{decorrelated[0] / max(full[0], equal[0]):.2f}× the larger of the two).")
    return lines


# -- metastability -----------------------------------------------------------------------


def _mode(value: Any) -> str:
    if value is None:
        return "none"
    return "budget" if isinstance(value, dict) and value.get("retry_budget") is not None else "retries"


class Outcomes:
    """The metastability study's runs as its maps read them: per cell, how many runs
    recovered, how many were judged, and their mean time to recover."""

    def __init__(self, plan: Plan, records: Records, clients: Axis, trigger: Axis, duration: Axis,
                 load: Axis | None) -> None:
        self.plan, self.clients, self.trigger, self.duration, self.load = plan, clients, trigger, duration, load
        self.cells: dict[tuple[int, ...], tuple[int, int, float | None]] = {}
        for cell in plan.cells:
            judged = [run for run in _runs(records, cell) if run["recovered"] is not None]
            returned = [run for run in judged if run["recovered"]]
            self.cells[cell.positions] = (len(returned), len(judged),
                                          _mean([run["time_to_recover"] for run in returned]))
        self.loads: list[int | None] = list(range(len(load.values))) if load is not None else [None]

    def at(self, mode: int, index: int, length: int, level: int | None) -> tuple[int, int, float | None]:
        """(recovered runs, judged runs, mean seconds to recover) of one cell."""
        axes = self.plan.axes
        positions = [0] * len(axes)
        positions[axes.index(self.clients)] = mode
        positions[axes.index(self.trigger)] = index
        positions[axes.index(self.duration)] = length
        if self.load is not None and level is not None:
            positions[axes.index(self.load)] = level
        return self.cells.get(tuple(positions), (0, 0, None))


def metastability_outcomes(plan: Plan, records: Records) -> Outcomes | None:
    """The metastability study's outcomes, or None when the sweep lacks its axes."""
    axes = _axes(plan, "clients", "trigger", "duration")
    if isinstance(axes, str):
        return None
    clients, trigger, duration = axes
    return Outcomes(plan, records, clients, trigger, duration, plan.sweep.axis("load"))


def _metastability(plan: Plan, records: Records, summaries: list[CellSummary]) -> list[str]:
    axes = _axes(plan, "clients", "trigger", "duration")
    if isinstance(axes, str):
        return [axes]
    outcomes = metastability_outcomes(plan, records)
    assert outcomes is not None
    clients, trigger, duration, load, loads, at = (outcomes.clients, outcomes.trigger, outcomes.duration,
                                                   outcomes.load, outcomes.loads, outcomes.at)

    kinds: dict[str, list[int]] = {}
    for index, value in enumerate(trigger.values):
        kinds.setdefault(value.get("kind", "?") if isinstance(value, dict) else str(value), []).append(index)
    lines = ["Each map is one clients mode at one base load: a row per trigger (smallest first), a column per "
             "trigger duration. `✓ 12` recovered in every replication (mean seconds to recover after the trigger "
             "ended; a world back at once reads about the recovery window, "
             f"{plan.sweep.recovery.window:g} s), `✗` in none, `k/n` in k of n; the line between ✓ and ✗ is the "
             "boundary of the vulnerable region.", ""]
    for mode in range(len(clients.values)):
        for level in loads:
            title = f"**clients: {clients.text(clients.values[mode])}**"
            if load is not None and level is not None:
                title += f", load {load.text(load.values[level])}"
            lines += [title, ""]
            rows = []
            for index in range(len(trigger.values)):
                row = [trigger.text(trigger.values[index])]
                for length in range(len(duration.values)):
                    came_back, runs, seconds = at(mode, index, length, level)
                    row.append("—" if runs == 0 else f"✓ {_number(seconds, 3)}" if came_back == runs
                               else "✗" if came_back == 0 else f"{came_back}/{runs}")
                rows.append(row)
            lines += _table(["trigger", *(duration.text(value) for value in duration.values)], rows)
            lines.append("")
    lines += ["The same maps are drawn in `charts/boundary.png` (green: recovered, red: collapsed).", ""]
    lines += ["**Do the expected qualitative results hold?** (Bronson et al., HotOS'21; Huang et al., OSDI'22)", ""]
    lines += _metastability_checks(clients, trigger, duration, load, kinds, loads, at)
    return lines


def _metastability_checks(clients: Axis, trigger: Axis, duration: Axis, load: Axis | None,
                          kinds: dict[str, list[int]], loads: list[int | None],
                          at: Callable[[int, int, int, int | None], tuple[int, int, float | None]]) -> list[str]:
    modes: dict[str, list[int]] = {}
    for index, value in enumerate(clients.values):
        modes.setdefault(_mode(value), []).append(index)
    lines = []
    every = [(index, length, level) for index in range(len(trigger.values))
             for length in range(len(duration.values)) for level in loads]

    def recovered(mode: int, index: int, length: int, level: int | None) -> bool | None:
        back, judged, _ = at(mode, index, length, level)
        return None if judged == 0 else back == judged

    if "retries" in modes:
        retries = modes["retries"][0]
        collapsed = [cell for cell in every if recovered(retries, *cell) is False]
        lines.append(f"- With client retries, {len(collapsed)} of {len(every)} triggers (sizes × durations × loads) "
                     f"left goodput collapsed after the trigger ended: a large enough trigger "
                     f"{'does' if collapsed else 'does not'} tip the world into a lasting overload.")
        for other, words in (("none", "without client retries"), ("budget", "with a retry budget")):
            for mode in modes.get(other, []) if collapsed else []:
                saved = [cell for cell in collapsed if recovered(mode, *cell)]
                lines.append(f"- Of those {len(collapsed)}, {len(saved)} recovered {words} "
                             f"({clients.text(clients.values[mode])}).")
    for mode in range(len(clients.values)):
        breaks = 0
        for members in kinds.values():
            for level in loads:
                for a, size in enumerate(members):
                    for length in range(len(duration.values)):
                        if recovered(mode, size, length, level) is not False:
                            continue
                        for bigger in members[a:]:
                            for longer in range(length, len(duration.values)):
                                if recovered(mode, bigger, longer, level) is True:
                                    breaks += 1
        lines.append(f"- clients {clients.text(clients.values[mode])}: a bigger or longer trigger of the same kind "
                     f"never recovered where a smaller one did not: {'yes' if breaks == 0 else f'no ({breaks} pairs)'}.")
        if load is not None and len(loads) > 1:
            inversions = sum(1 for index, length in ((i, d) for i in range(len(trigger.values))
                                                      for d in range(len(duration.values)))
                             for low in range(len(load.values)) for high in range(low + 1, len(load.values))
                             if recovered(mode, index, length, low) is False
                             and recovered(mode, index, length, high) is True)
            lines.append(f"- clients {clients.text(clients.values[mode])}: a higher base load never recovered where "
                         f"a lower one did not: {'yes' if inversions == 0 else f'no ({inversions} cells)'}.")
    return lines
