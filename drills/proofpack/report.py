"""The proof pack ``report.md``: what the drill was, its verdict, its warnings (expectations
that held before the drill did anything), the timeline of faults, alerts, inbox and partner-request changes
and operator steps, every expectation with what was observed, the delivery
history, the runbook violations, the traces of the affected nonces, and the chart."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from drills.executor.context import DrillContext
from drills.executor.journal import VERDICTS, Activity, Journal
from drills.proofpack.faultlog import fault_timeline
from drills.runs.files import atomic_write_text
from drills.runs.traceview import TraceError, load_trace, render
from simulator.operator.inbox import AUDIT_ACTION
from simulator.operator.partners import AUDIT_ACTION as REQUEST_AUDIT_ACTION
from simulator.world import World

#: What the chart's panels show, for the report's caption.
CHART_PANELS = ("Over virtual time: lifecycle counts per path, the directory's errors by code and Shield's holds "
                "and rejects (counted since the start), and a band per alert while it fires (amber warning, red "
                "critical); a panel where nothing happened is left out and named under the title.")


#: The heading of the report's section about the dashboards' snapshot.
DASHBOARDS_HEADING = "## Dashboards"


def dashboards_section(link: str | None) -> list[str]:
    """The report's dashboards section: a link to the snapshot's index page (``link``,
    relative to the report) once ``beamdrill dashboards snapshot`` has made it, else how to make it."""
    if link is not None:
        return [DASHBOARDS_HEADING, "", f"[The dashboards over this drill]({link}) (`beamdrill dashboards snapshot`: "
                "every panel's queries run against a real Prometheus, one PNG per panel and a page per dashboard)."]
    return [DASHBOARDS_HEADING, "", "No snapshot yet. `beamdrill dashboards snapshot DIR` (DIR: this report's "
            "directory) draws every dashboard over this drill from a real Prometheus into `dashboards/` and links "
            "it here; `beamdrill prometheus DIR` serves the drill to a Grafana instead."]


def _cell(value: Any) -> str:
    text = "—" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _clock(world: World, t: float) -> str:
    stamp = world.scenario.epoch + timedelta(seconds=t)
    return f"t={t:g}s ({stamp.strftime('%H:%M:%S')}Z)"


def _timeline(world: World, ctx: DrillContext, journal: Journal) -> list[tuple[float, int, str]]:
    """(time, order, text) of every fault, alert change, inbox and partner-request change and operator step;
    faults at the same time in the order they happened, a bus restart's start before its end."""
    events: list[tuple[float, int, int, str]] = []
    for seq, entry in enumerate(ctx.fault_log):
        verb = "starts" if entry.event == "fault_start" else "ends"
        events.append((entry.time, 0, seq, f"fault {verb}: {entry.name}"))
    for change in world.alerts.transitions:
        verb = {"alert_fired": "fires", "alert_changed": "changes to", "alert_cleared": "clears"}[change.kind]
        events.append((change.time, 1, 0, f"alert {change.alert_id} {verb} {change.severity} (value {change.value:g})"))
    for item in world.inbox.items(limit=5000):
        events.append((item.created_at, 2, 0, f"inbox item {item.source_key} created ({item.severity}, new)"))
        if world.inbox.updated_by(item.id) == "alert read" and item.updated_at > item.created_at:
            events.append((item.updated_at, 2, 0, f"inbox item {item.source_key} updatedAt set by an alert read, the "
                                                  "last while its alert was critical (reads upsert critical items)"))
    for row in world.audit_rows():
        if row.action == AUDIT_ACTION:
            details = row.details
            events.append((row.time, 2, 0, f"inbox item {details.get('sourceKey')} → {details.get('status')}, owner "
                                           f"{details.get('owner') or '—'}"))
        elif row.action == REQUEST_AUDIT_ACTION:
            details = row.details
            events.append((row.time, 2, 0, f"partner request {details.get('requestId')} → {details.get('status')}, "
                                           f"owner {details.get('owner') or '—'}"))
    for time, key, status, actor in world.inbox.sync_moves:
        events.append((time, 2, 1, f"inbox item {key} → {status}, following its partner request (by {actor})"))
    for activity in [*journal.run, *journal.rollbacks]:
        if activity.type == "action":
            mark = "" if activity.status == "succeeded" else " (could not be done)"
            events.append((activity.start, 3, 0, f"operator: {activity.name}{mark}"))
    return [(time, order, text) for time, order, _, text in sorted(events)]


def _probe_rows(activities: list[Activity]) -> list[str]:
    rows = ["| check | expected | observed | at | held |", "|---|---|---|---|---|"]
    for activity in activities:
        if activity.type != "probe":
            continue
        mark = "yes" if activity.tolerance_met else "**no**"
        rows.append(f"| {_cell(activity.name)} | {_cell(activity.tolerance)} | {_cell(activity.output)} | "
                    f"t={activity.end:g}s | {mark} |")
    return rows


def _history_rows(world: World) -> list[str]:
    """The delivery history at the end of the drill: its counts, then its examples."""
    history = world.delivery_history()
    if history is None:
        return ["The delivery history was not kept."]
    verdict = "valid" if history.valid else "**invalid**: " + "; ".join(history.problems)
    lines = [f"The history is {verdict}. Of {history.attempted} intents attempted, {history.acknowledged} "
             "acknowledged:", "", "| ok | lost | recovered | failed | dead-lettered | refused | in flight | "
             "duplicated (extra runs) | unexpected |", "|---|---|---|---|---|---|---|---|---|",
             f"| {history.ok} | {history.lost} | {history.recovered} | {history.failed} | {history.dead_lettered} | "
             f"{history.refused} | {history.in_flight} | {history.duplicated} ({history.duplicate_runs}) | "
             f"{history.unexpected} |"]
    if history.lost_in_restore:
        lines += ["", f"{history.lost_in_restore} intents were **lost in restore**: Beam accepted them after the "
                  "backup a restore went back to, and nobody sent them again (see Backups and restores)."]
    if any(history.examples.values()):
        lines.append("")
    for anomaly, examples in history.examples.items():
        for example in examples:
            runs = ", ".join(f"t={t:g}s" for t in example.run_times) or "never"
            sent = "never sent" if example.sent_at is None else f"sent t={example.sent_at:g}s"
            lines.append(f"- {anomaly}: `{example.nonce}` {example.sender or '?'} → {example.recipient or '?'} "
                         f"({example.path or '—'}), {sent}, {example.status or 'no row'}"
                         f"{'' if example.status_at is None else f' at t={example.status_at:g}s'}, processed {runs}")
    return lines


def _recovery_rows(world: World) -> list[str]:
    """Backups and restores, each restore with its recovery time (RTO) and recovery point
    (RPO: intents lost, and how many senders' retries recovered); empty without any."""
    report = world.recovery_report()
    if report is None:
        return []
    lines = ["", "## Backups and restores", "",
             f"{report.backups_taken} backups taken; disasters at "
             f"{', '.join(f't={t:g}s' for t in report.disasters) or 'none'}.", ""]
    if not report.restores:
        return lines + ["No restore."]
    lines += ["| backup (taken) | disaster | restored | served again | RTO | intents lost (RPO) | recovered by retry "
              "| rows rolled back | checksums match |", "|---|---|---|---|---|---|---|---|---|"]
    for restore in report.restores:
        disaster = "—" if restore.disaster_at is None else f"t={restore.disaster_at:g}s"
        served = "not yet" if restore.served_at is None else f"t={restore.served_at:g}s"
        rto = "—" if restore.rto_seconds is None else f"{restore.rto_seconds:g} s"
        lines.append(f"| {restore.backup} (t={restore.backup_taken_at:g}s) | {disaster} | t={restore.restored_at:g}s "
                     f"| {served} | {rto} | {restore.lost_total} | {restore.recovered_by_retry} "
                     f"| {sum(restore.rolled_back.values())} | {'yes' if restore.digests_match else '**no**'} |")
    for restore in report.restores:
        for path, nonces in restore.lost.items():
            if nonces:
                shown = ", ".join(f"`{nonce}`" for nonce in nonces[:10])
                more = f" and {len(nonces) - 10} more" if len(nonces) > 10 else ""
                lines.append(f"- lost in restore from {restore.backup}, {path}: {shown}{more}")
    return lines


def write_report(out: Path, journal: Journal, world: World, ctx: DrillContext) -> None:
    """Write ``out/report.md`` for a finished drill."""
    lines = [f"# Drill {journal.drill}: {journal.title}", "",
             f"**Verdict: {journal.status}** ({VERDICTS[journal.status]})."]
    if journal.reason:
        lines.append(f"Reason: {journal.reason}.")
    lines += ["", "| | |", "|---|---|",
              f"| rehearses | {journal.rehearses} |",
              f"| drill file | `{journal.file}` |",
              f"| scenario | `{journal.scenario_file}` |",
              f"| scenario digest | `{journal.scenario_digest}` |",
              f"| seed | {journal.seed} |",
              f"| fidelity | {world.scenario.fidelity} |",
              f"| virtual duration | {journal.virtual_duration:g} s |",
              f"| expectations held | {journal.expectations_held}/{journal.expectations_total} |", ""]
    if journal.warnings:
        lines += ["## Warnings", ""] + [f"- {warning.message}" for warning in journal.warnings] + [""]
    lines += ["## Timeline", ""]
    timeline = _timeline(world, ctx, journal)
    lines += [f"- {_clock(world, t)}: {text}" for t, _, text in timeline] or ["- nothing happened"]
    lines += ["", "## Expectations", ""] + _probe_rows([a for a in journal.run if a.phase == "method"])
    for phase, title in (("before", "Steady state before the method"), ("after", "Steady state after the rollbacks")):
        if journal.steady_states[phase]:
            lines += ["", f"## {title}", ""] + _probe_rows(journal.steady_states[phase])
    guards = [a for a in journal.run if a.phase == "guard"]
    if guards:
        lines += ["", "## Guards that failed", ""] + _probe_rows(guards)
    lines += ["", "## Delivery history", ""] + _history_rows(world)
    lines += _recovery_rows(world)
    lines += ["", "## Runbook order rules", ""]
    lines += [f"- **violated** at t={v.time:g}s by `{v.step}`: {v.rule} ({v.detail})" for v in journal.violations] \
        or ["- every operator step kept the runbook's order"]
    if journal.deviations:
        lines += ["", "## Deviations", ""]
        lines += [f"- {d.phase}, t={d.time:g}s: `{d.name}` expected {d.expected}, observed {_cell(d.observed)}"
                  for d in journal.deviations]
    faults = fault_timeline(ctx.fault_log, journal.virtual_duration)
    lines += ["", "## Chart", "", "![lifecycle counts, dead letters and alerts over virtual time](chart.png)", "",
              CHART_PANELS + " " + faults.caption, "", *dashboards_section(None), "",
              "## Traces of the affected intents", ""]
    shown = 0
    for nonce in journal.affected_nonces:
        try:
            trace = load_trace(out, nonce)
        except TraceError:
            continue
        lines += ["```text", *render(trace), "```", ""]
        shown += 1
    if not shown:
        lines.append("No intent was affected.")
    lines += ["", "## Files", ""] + [f"- `{name}`" for name in journal.files]
    atomic_write_text(out / "report.md", "\n".join(lines) + "\n")
