"""The scenario's service-level objectives watched on virtual time: the intents that finish
on the directory path feed each objective's good and bad counts, and every alert-engine
evaluation checks its multi-window burn-rate alerts (the SRE workbook's rule).

An intent is good for an availability objective when it is acked, for a latency objective
when it is acked within the objective's ``latency_threshold`` of its admission; failed is
bad for both. An alert fires while the error budget burns at least ``factor`` times faster
than the objective allows over both its long and its short window: burn rate = (bad / all
finished in the window) / (1 − objective). A ``page`` alert is critical (it puts an item in
the inbox), a ``ticket`` alert a warning.
"""

from __future__ import annotations

from collections import deque
from typing import Final

from simulator.kernel.events import Event
from simulator.operator.alertrules import Alert
from simulator.scenario.readiness import BurnRateAlert, SloSpec, burn_alert_id

#: The directory path's final states an objective counts.
_FINAL: Final[frozenset[str]] = frozenset({"acked", "failed"})


def alert_id(slo: SloSpec, alert: BurnRateAlert) -> str:
    """The alert id of one burn-rate alert: ``slo-<name>-burn-<long>s-<short>s``."""
    return burn_alert_id(slo, alert)


class BurnRateMonitor:
    """An event sink that keeps each finished intent (time, acked, latency) for the longest
    window any alert looks back over, and gives the firing burn-rate alerts at a time."""

    def __init__(self, slos: list[SloSpec]) -> None:
        self.slos = slos
        self.horizon = max((alert.long_window for slo in slos for alert in slo.burn_rate_alerts), default=0.0)
        self._admitted: dict[str, float] = {}
        #: (finish time, acked, seconds since admission) of every intent finished within the horizon.
        self.finished: deque[tuple[float, bool, float]] = deque()
        #: Every directory intent finished so far, and those bad for each objective (by name): the metrics' counters.
        self.finished_total = 0
        self.bad_total: dict[str, int] = {slo.name: 0 for slo in slos}

    def __call__(self, event: Event) -> None:
        """Note a directory intent's admission and its finish."""
        time, kind, nonce, data = event
        if kind != "transition" or nonce is None or data["path"] != "directory":
            return
        if data["from"] is None:
            self._admitted.setdefault(nonce, time)
        elif data["to"] in _FINAL:
            start = self._admitted.pop(nonce, time)
            acked = data["to"] == "acked"
            self.finished.append((time, acked, time - start))
            self.finished_total += 1
            for slo in self.slos:
                self.bad_total[slo.name] += _bad(slo, acked, time - start)

    def burn_rate(self, slo: SloSpec, window: float, now: float) -> float:
        """How many times faster than allowed ``slo``'s error budget burned over the last ``window`` seconds."""
        total = bad = 0
        for time, acked, latency in reversed(self.finished):
            if time <= now - window:
                break
            total += 1
            bad += _bad(slo, acked, latency)
        return 0.0 if total == 0 else bad / total / (1.0 - slo.objective)

    def alerts(self, now: float) -> list[Alert]:
        """The burn-rate alerts firing at ``now``, for the alert engine's evaluation."""
        while self.finished and self.finished[0][0] <= now - self.horizon:
            self.finished.popleft()
        firing = []
        for slo in self.slos:
            for rule in slo.burn_rate_alerts:
                long_rate = self.burn_rate(slo, rule.long_window, now)
                short_rate = self.burn_rate(slo, rule.short_window, now)
                if long_rate >= rule.factor and short_rate >= rule.factor:
                    firing.append(_alert(slo, rule, long_rate, short_rate, now))
        return firing


def _bad(slo: SloSpec, acked: bool, latency: float) -> bool:
    """Whether a finished intent counts against ``slo``: failed, or (latency) slower than its threshold."""
    threshold = slo.latency_threshold
    return not acked or (threshold is not None and latency > threshold)


def _alert(slo: SloSpec, rule: BurnRateAlert, long_rate: float, short_rate: float, now: float) -> Alert:
    objective = f"{slo.objective:.4%}".rstrip("0").rstrip(".")
    return Alert(
        id=alert_id(slo, rule), severity="critical" if rule.severity == "page" else "warning",
        title=f"SLO {slo.name} is burning its error budget", scope="network",
        message=f"{slo.kind} objective {objective}: burn rate {long_rate:.2f} over {rule.long_window:g} s and "
                f"{short_rate:.2f} over {rule.short_window:g} s",
        metric="burn_rate", value=round(long_rate, 4), threshold=rule.factor, value_unit="ratio", started_at=now,
        threshold_explanation=f"fires while both windows burn at least {rule.factor:g} times the allowed rate",
        severity_reason=f"a {rule.severity} alert", links=(), sample_traces=())
