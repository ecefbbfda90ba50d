"""The scenario's SLO burn-rate alerts, evaluated by the alert engine: exact burn rates from
crafted finishes, a failing world that pages while a healthy one stays quiet, and the
cumulative counters the Prometheus rules read giving the same burn rates."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator import World, parse_scenario
from simulator.kernel.events import Event
from simulator.scenario.readiness import BurnRateAlert, SloSpec
from simulator.slo import BurnRateMonitor, alert_id

AVAILABILITY = SloSpec(name="avail", kind="availability", objective=0.9, burn_rate_alerts=[
    BurnRateAlert(long_window=600, short_window=60, factor=2)])
LATENCY = SloSpec(name="fast", kind="latency", objective=0.5, latency_threshold=0.1, burn_rate_alerts=[
    BurnRateAlert(long_window=600, short_window=60, factor=1.5, severity="ticket")])


def transition(time: float, nonce: str, before: str | None, after: str, path: str = "directory") -> Event:
    return Event(time, "transition", nonce, {"path": path, "from": before, "to": after})


def test_burn_rates_count_the_finishes_in_each_window() -> None:
    monitor = BurnRateMonitor([AVAILABILITY, LATENCY])
    for index, (start, end, final) in enumerate([(0, 10, "acked"), (100, 100.05, "acked"), (550, 550.5, "failed"),
                                                 (580, 580.2, "acked")]):
        monitor(transition(start, f"n{index}", None, "pending"))
        monitor(transition(end, f"n{index}", "pending", final))
        monitor(transition(end, f"n{index}", None, "queued", path="bus"))  # the bus path is not counted
    # Over 600 s: 1 failed of 4 → 0.25 / 0.1 = 2.5; over the last 60 s: 1 of 2 → 5.
    assert monitor.burn_rate(AVAILABILITY, 600, 600) == pytest.approx(2.5)
    assert monitor.burn_rate(AVAILABILITY, 60, 600) == pytest.approx(5.0)
    # Latency: slow (10 s, 0.5 s, 0.2 s) or failed = 3 of 4 bad → 0.75 / 0.5 = 1.5; last 60 s: 2 of 2 → 2.
    assert monitor.burn_rate(LATENCY, 600, 600) == pytest.approx(1.5)
    fired = monitor.alerts(600)
    assert [(alert.id, alert.severity, alert.value, alert.threshold) for alert in fired] == [
        ("slo-avail-burn-600s-60s", "critical", 2.5, 2.0), ("slo-fast-burn-600s-60s", "warning", 1.5, 1.5)]
    assert monitor.alerts(700) == []  # the short window has nothing left to judge
    assert monitor.burn_rate(AVAILABILITY, 600, 1300) == 0.0


def world(failure_rate: float) -> World:
    document: dict[str, Any] = {
        "name": "slo", "duration": "20m",
        "agents": [{"id": "a@x.beam"}, {"id": "b@x.beam", "latency": "20ms", "failure_rate": failure_rate,
                                             "shield": {"allowlist": ["a@x.beam"]}}],
        "acl": [{"target": "b@x.beam", "intent": "agent.ping", "allowed_from": "a@x.beam"}],
        "traffic": {"routes": [{"from": "a@x.beam", "to": "b@x.beam", "intent": "agent.ping", "rate": "0.5/s"}]},
        "slos": [AVAILABILITY.model_dump(mode="json")]}
    return World(parse_scenario(document), seed=3)


def test_a_failing_world_pages_and_a_healthy_one_does_not() -> None:
    failing = world(0.5)
    failing.run()
    page = alert_id(AVAILABILITY, AVAILABILITY.burn_rate_alerts[0])
    assert failing.alerts.firing()[page] == "critical"
    [item] = [item for item in failing.inbox.items() if item.source_key == f"critical-alert:{page}"]
    assert (item.severity, item.next_action) == ("critical", (
        "Find what the failing or slow intents share (recipient, error code, route) in the latest traces, and stop "
        "the burn before the error budget is spent."))
    healthy = world(0.0)
    healthy.run()
    assert not [t for t in healthy.alerts.transitions if t.alert_id.startswith("slo-")]


# -- the counters the Prometheus rules read --------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 80), st.integers(0, 40), st.booleans()), max_size=40),
       st.sampled_from([15, 30, 60, 300]), st.integers(0, 8))
def test_counter_differences_at_evaluation_times_give_the_monitors_burn_rates(
        intents: list[tuple[int, int, bool]], window: int, evaluation: int) -> None:
    """What drills/dashboards/slorules.py relies on: with the counters sampled at the
    evaluation times (every 15 s), the bad ratio from the counters' difference over a window
    that is a multiple of 15 s (or the counters themselves while the run is younger) is the
    monitor's, so both burn rates are the same float."""
    monitor = BurnRateMonitor([AVAILABILITY, LATENCY])
    finishes = sorted((start * 1.5 + took * 0.01, start * 1.5, acked, f"n{index}")
                      for index, (start, took, acked) in enumerate(intents))
    samples: dict[float, tuple[int, dict[str, int]]] = {}
    events = iter(finishes)
    pending = next(events, None)
    now = 15.0 * evaluation
    for time in [15.0 * step for step in range(evaluation + 1)]:
        while pending is not None and pending[0] <= time:
            end, start, acked, nonce = pending
            monitor(transition(start, nonce, None, "pending"))
            monitor(transition(end, nonce, "pending", "acked" if acked else "failed"))
            pending = next(events, None)
        samples[time] = (monitor.finished_total, dict(monitor.bad_total))
    for slo in (AVAILABILITY, LATENCY):
        total, bad = samples[now][0], samples[now][1][slo.name]
        if now - window in samples:
            total -= samples[now - window][0]
            bad -= samples[now - window][1][slo.name]
        expected = 0.0 if total == 0 else bad / total / (1.0 - slo.objective)
        assert monitor.burn_rate(slo, window, now) == expected
