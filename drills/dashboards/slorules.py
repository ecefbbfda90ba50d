"""A scenario's service-level objectives as Prometheus rules: each objective's bad ratio and
burn rate over every window its alerts use (recording rules, for dashboards), and each
multi-window burn-rate alert (the SRE workbook's) as an alerting rule with the scenario's
windows, factors and severities, firing exactly where :mod:`simulator.slo` fires.

The inputs are the counters a run of the scenario exports, ``beamdrill_slo_intents_total``
and ``beamdrill_slo_bad_intents_total`` (per ``slo``). Over a window ``W`` the rules take the
counters' difference from ``W`` ago, or the counter itself while the run is younger than
``W`` (no sample then), never ``increase()``: its extrapolation would not give the
simulator's exact counts. The counters are scraped at the alert engine's evaluation times,
so the difference counts exactly the intents the engine counts (finished in ``(now − W,
now]``) for windows that are multiples of the 15 s interval; a window that is not one reads
the sample before ``now − W``, a window up to 15 s longer.

Burn rate = bad ratio / (1 − objective), in that order, as the simulator divides. Alert
names are the simulator's alert ids; a ``page`` alert is ``critical``, a ``ticket`` one a
``warning``.
"""

from __future__ import annotations

from typing import Final

from drills.dashboards.rules import EVALUATION_INTERVAL, AlertingRule, RecordingRule, RuleFile, RuleGroup
from simulator.scenario.readiness import BurnRateAlert, SloSpec, burn_alert_id

TOTAL: Final[str] = "beamdrill_slo_intents_total"
BAD: Final[str] = "beamdrill_slo_bad_intents_total"


def _seconds(window: float) -> str:
    return f"{window:g}s"


def _in_window(counter: str, slo: str, window: float) -> str:
    selector = f'{counter}{{slo="{slo}"}}'
    return f"(({selector} - {selector} offset {_seconds(window)}) or {selector})"


def bad_ratio(slo: SloSpec, window: float) -> str:
    """PromQL: the share of ``slo``'s finished intents that were bad over the last ``window`` seconds."""
    return f"{_in_window(BAD, slo.name, window)} / {_in_window(TOTAL, slo.name, window)}"


def burn_rate(slo: SloSpec, window: float) -> str:
    """PromQL: how many times faster than allowed ``slo``'s error budget burned over ``window``."""
    return f"({bad_ratio(slo, window)}) / (1 - {slo.objective!r})"


def _windows(slo: SloSpec) -> list[float]:
    return sorted({window for rule in slo.burn_rate_alerts for window in (rule.long_window, rule.short_window)})


def _alert(slo: SloSpec, rule: BurnRateAlert) -> AlertingRule:
    factor = f"{rule.factor!r}"
    expr = f"({burn_rate(slo, rule.long_window)} >= {factor}) and ({burn_rate(slo, rule.short_window)} >= {factor})"
    name = burn_alert_id(slo, rule)
    return AlertingRule.model_validate({
        "alert": name, "expr": expr, "for": "0s",
        "labels": {"severity": "critical" if rule.severity == "page" else "warning", "scope": "network",
                   "alert_id": name, "slo": slo.name},
        "annotations": {"summary": f"SLO {slo.name} is burning its error budget",
                        "description": f"{slo.kind} objective {slo.objective:g}: the budget burns at least "
                                       f"{rule.factor:g} times the allowed rate over {_seconds(rule.long_window)} "
                                       f"and {_seconds(rule.short_window)} (a {rule.severity} alert)."}})


def slo_rules(scenario: str, slos: list[SloSpec]) -> RuleFile:
    """The rules file for ``scenario``'s objectives: a group of recording rules (bad ratio and
    burn rate per objective and window) and one of burn-rate alerts, both every 15 s."""
    recording: list[RecordingRule] = []
    alerting: list[AlertingRule] = []
    for slo in slos:
        for window in _windows(slo):
            labels = {"slo": slo.name}
            recording.append(RecordingRule(record=f"beamdrill_slo:bad_ratio:{_seconds(window)}",
                                           expr=bad_ratio(slo, window), labels=labels))
            recording.append(RecordingRule(record=f"beamdrill_slo:burn_rate:{_seconds(window)}",
                                           expr=burn_rate(slo, window), labels=labels))
        alerting += [_alert(slo, rule) for rule in slo.burn_rate_alerts]
    return RuleFile(groups=[RuleGroup(name=f"{scenario}-slo-records", interval=EVALUATION_INTERVAL, rules=recording),
                            RuleGroup(name=f"{scenario}-slo-alerts", interval=EVALUATION_INTERVAL, rules=alerting)])
