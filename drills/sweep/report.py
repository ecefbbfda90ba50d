"""A sweep's output directory: the resolved sweep, one JSON line per run, a CSV, the
summary, ``report.md`` and the charts. Every file is written atomically and depends only
on the plan and the records, so any executor, and a resumed sweep, write the same bytes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, Final

from drills.runs.files import atomic_write_text, shown_path, versions, write_json
from drills.sweep.charts import level_text, render_charts
from drills.sweep.grid import Plan
from drills.sweep.model import MEASURES, PROPORTIONS, ROLLOUT_MEASURES
from drills.sweep.studies import study_section
from drills.sweep.stats import CellSummary, Difference, Estimate, Records, cell_summaries, differences

#: The counts each run record has besides the measures, for the CSV.
COUNTS: Final[tuple[str, ...]] = ("intents", "delivered", "attempts")
#: What each rollout run record has besides the measures, for the CSV.
ROLLOUT_COUNTS: Final[tuple[str, ...]] = ("decision", "decided_at_step", "first_step_exposure_pct")
#: Measures the delivery history provides.
HISTORY: Final[tuple[str, ...]] = ("lost", "duplicated", "unexpected", "recovered_deliveries")


def resolved_sweep(plan: Plan) -> dict[str, Any]:
    """sweep.json: the sweep with every default written out, its seeds and its cells."""
    sweep = plan.sweep
    return {"name": sweep.name, "description": sweep.description, "file": shown_path(plan.file), "world": plan.world,
            "duration": sweep.duration, "grid": [{"name": axis.label, "path": axis.path, "values": axis.values}
                                                 for axis in sweep.grid],
            "x": plan.x.label, "compare": plan.compare.label if plan.compare is not None else None,
            "replications": sweep.replications, "seeds": plan.seeds, "measures": list(sweep.measures),
            "recovery": sweep.recovery.model_dump(mode="json"),
            "cells": [{"cell": cell.index, "overrides": plan.overrides(cell)} for cell in plan.cells],
            "versions": versions()}


def _ordered(plan: Plan, records: Records) -> list[dict[str, Any]]:
    return [records[key] for key in sorted(records)]


def cells_jsonl(plan: Plan, records: Records) -> str:
    """cells.jsonl: one line per finished run with its values, seed, measures and full resolved scenario."""
    lines = []
    for record in _ordered(plan, records):
        cell = plan.cells[record["cell"]]
        line = {"cell": cell.index, "replication": record["replication"], "seed": record["seed"],
                "overrides": plan.overrides(cell), "status": record["status"], "error": record["error"],
                "measures": record["measures"], "scenario": cell.scenario}
        if cell.rollout is not None:
            line["rollout"] = cell.rollout
        lines.append(json.dumps(line, separators=(",", ":")) + "\n")
    return "".join(lines)


def cells_csv(plan: Plan, records: Records) -> str:
    """cells.csv: one row per finished run: cell, its values, replication, seed, status, counts, measures."""
    stream = io.StringIO()
    writer = csv.writer(stream, lineterminator="\n")
    columns = (*ROLLOUT_COUNTS, *ROLLOUT_MEASURES) if plan.sweep.is_rollout else (*COUNTS, *MEASURES)
    writer.writerow(["cell", *(axis.label for axis in plan.axes), "replication", "seed", "status", "error", *columns])
    for record in _ordered(plan, records):
        cell = plan.cells[record["cell"]]
        measures = record["measures"] or {}
        writer.writerow([cell.index, *(axis.text(level) for axis, level in zip(plan.axes, cell.levels)),
                         record["replication"],
                         record["seed"], record["status"], record["error"] or "",
                         *("" if measures.get(name) is None else measures[name] for name in columns)])
    return stream.getvalue()


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


def _estimate(value: Estimate) -> str:
    if value.mean is None:
        return "—"
    if value.low is None or value.high is None:
        return f"{_number(value.mean)} (n={value.n})"
    return f"{_number(value.mean)} [{_number(value.low)}, {_number(value.high)}]"


def _text(plan: Plan, label: str, value: Any) -> str:
    axis = plan.sweep.axis(label)
    return axis.text(value) if axis is not None else level_text(value)


def _measured(plan: Plan, summaries: list[CellSummary]) -> list[str]:
    return [m for m in plan.sweep.measures if any(s.measures[m].mean is not None for s in summaries)]


def report_markdown(plan: Plan, records: Records, summaries: list[CellSummary], diffs: list[Difference],
                    charts: list[str], total: int, interrupted: bool, out: Path) -> str:
    """report.md: what ran, per cell the mean and 95 % interval of every measure, the paired
    differences, the failed runs and the charts."""
    sweep = plan.sweep
    failed = [record for record in _ordered(plan, records) if record["status"] != "ok"]
    lines = [f"# Sweep {sweep.name}", ""]
    if sweep.description:
        lines += [sweep.description.strip(), ""]
    lines += [f"- world: {plan.world}",
              *(f"- axis {axis.label}" + (f" (`{axis.path}`)" if axis.name else "") + ": "
                + ", ".join(axis.text(v) for v in axis.values) for axis in plan.axes),
              f"- replications: {len(plan.seeds)}, seeds {plan.seeds[0]} to {plan.seeds[-1]}: replication k runs with "
              f"the same seed in every cell (common random numbers)",
              f"- runs: {len(records)} of {total} done, {len(failed)} failed"]
    if not sweep.is_rollout:
        lines.append(f"- recovery: goodput over a {sweep.recovery.window:g} s window back to at least "
                     f"{1 - sweep.recovery.tolerance:.0%} of the pre-fault goodput")
    if interrupted:
        lines.append(f"- **interrupted**: {total - len(records)} runs not done; "
                     f"`beamdrill sweep {shown_path(plan.file)} --out {out} --resume` runs only those")
    measured = _measured(plan, summaries)
    missing = [m for m in sweep.measures if m not in measured]
    lines += ["", "## Measures per cell", "", "Mean over the replications and its 95 % t interval "
              "(`mean [low, high]`; `(n=1)` when one run finished)"
              + ("; for " + ", ".join(m for m in measured if m in PROPORTIONS) + ": the share of runs and its 95 % "
                 "Wilson binomial interval" if any(m in PROPORTIONS for m in measured) else "") + ".", ""]
    header = ["cell", *(axis.label for axis in plan.axes), "runs", *measured]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for cell, summary in zip(plan.cells, summaries):
        runs = f"{summary.runs - summary.failed}/{len(plan.seeds)}"
        lines.append("| " + " | ".join([str(cell.index), *(a.text(v) for a, v in zip(plan.axes, cell.levels)), runs,
                                         *(_estimate(summary.measures[m]) for m in measured)]) + " |")
    if missing:
        history = [m for m in missing if m in HISTORY]
        lines += ["", "No value in any run: " + ", ".join(missing)
                  + (" (the delivery-history counts come from its checker)" if history else "") + "."]
    if diffs:
        lines += ["", f"## Paired differences along {diffs[0].axis}", "",
                  "Per replication, the later level's value minus the earlier one's (same seed, so the same "
                  "traffic and faults), then the mean and its 95 % t interval.", ""]
        header = ["at", f"{diffs[0].axis}: b − a", *measured]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for diff in diffs:
            at = ", ".join(f"{k}={_text(plan, k, v)}" for k, v in diff.at.items()) or "—"
            compared = _text(plan, diff.axis, diff.level_b) + " − " + _text(plan, diff.axis, diff.level_a)
            lines.append("| " + " | ".join([at, compared,
                                             *(_estimate(diff.measures[m]) for m in measured)]) + " |")
    lines += study_section(plan, records, summaries)
    if failed:
        lines += ["", "## Failed runs", ""]
        for record in failed:
            lines.append(f"- cell {record['cell']}, replication {record['replication']} (seed {record['seed']}): "
                         f"{record['error']}")
    if charts:
        lines += ["", "## Charts", "", f"Each measure against {plan.x.label}, one line per "
                  + (", ".join(a.label for a in plan.axes if a is not plan.x) or "sweep") + " value, "
                  "the band its 95 % interval.", ""]
        lines += [f"![{name.removesuffix('.png')}](charts/{name})" for name in charts]
    lines += ["", "Measures are defined in the README's \"Sweeps\" section; `cells.jsonl` holds every run's "
              "resolved scenario and seed, `cells.csv` the same runs as a table.", ""]
    return "\n".join(lines)


def write_outputs(plan: Plan, records: Records, out: Path, interrupted: bool) -> dict[str, Any]:
    """Write every file of the output directory from the records at hand; return the summary document."""
    from drills.sweep.boundary import render_boundary  # Matplotlib is slow to import, so here

    total = len(plan.cells) * len(plan.seeds)
    summaries = cell_summaries(plan, records)
    diffs = differences(plan, records)
    charts = render_charts(plan, summaries, out / "charts") if plan.sweep.charts else []
    charts += render_boundary(plan, records, out / "charts")
    failed = sum(record["status"] != "ok" for record in records.values())
    document = {"sweep": plan.sweep.name, "status": "interrupted" if interrupted else "complete",
                "runs_total": total, "runs_done": len(records), "runs_failed": failed,
                "cells": [summary.model_dump(mode="json") for summary in summaries],
                "differences": [diff.model_dump(mode="json") for diff in diffs],
                "charts": [f"charts/{name}" for name in charts]}
    write_json(out / "sweep.json", resolved_sweep(plan))
    atomic_write_text(out / "cells.jsonl", cells_jsonl(plan, records))
    atomic_write_text(out / "cells.csv", cells_csv(plan, records))
    write_json(out / "summary.json", document)
    atomic_write_text(out / "report.md", report_markdown(plan, records, summaries, diffs, charts, total,
                                                         interrupted, out))
    return document
