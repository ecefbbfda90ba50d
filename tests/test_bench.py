"""``beamdrill bench``: the scenarios it generates, the rounds, and the table's structure and
verdicts. Exact values only; nothing here asserts on a time."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from conftest import beamdrill
from drills.benchmark.generated import INTENT, TOTAL_RATE, agent_id, constant_rate, ring_scenario, scenario_yaml
from drills.benchmark.linearity import LONG_JOB, SHORT_JOB, WARM_JOB, LinearityCase
from drills.benchmark.loading import BUILD_JOB, LOAD_JOB, LoadingCase
from drills.benchmark.modes import FULL, QUICK, BenchConfig
from drills.benchmark.partnerday import REFERENCE_JOB, SCENARIO, WORLD_JOB, PartnerDayCases
from drills.benchmark.report import BenchReport, cases_table, format_figure
from drills.benchmark.rounds import Sample, run_rounds
from drills.benchmark.run import run_cases
from drills.benchmark.scaling import ScalingCase, job_name
from drills.benchmark.telemetry import TelemetryCase
from drills.benchmark.telemetry import job_name as telemetry_job
from drills.benchmark.table import Bound, best_and_median, cost_ratio, judge, row
from simulator import load_scenario, parse_scenario
from simulator.scenario.model import MAX_AGENTS

# -- the generated rings ----------------------------------------------------------------------


@pytest.mark.parametrize("agents", [10, 1000, 10_000])
def test_ring_has_one_route_per_agent_and_one_acl_row_per_route(agents):
    scenario = ring_scenario(agents)
    ids = [agent.id for agent in scenario.agents]
    routes = scenario.traffic.routes
    assert (len(ids), len(set(ids)), len(routes), len(scenario.acl)) == (agents, agents, agents, agents)
    assert sorted(route.sender for route in routes) == sorted(ids)  # every agent sends on one route
    assert sorted(route.recipient for route in routes) == sorted(ids)  # and receives on one
    rows = {(entry.target, entry.intent, entry.allowed_from) for entry in scenario.acl}
    assert rows == {(route.recipient, route.intent, route.sender) for route in routes}
    assert sum(route.rate for route in routes) == pytest.approx(TOTAL_RATE)
    assert {route.intent for route in routes} == {INTENT}


@pytest.mark.parametrize("agents", [10, 1000, 10_000])
def test_ring_has_the_same_mix_of_ways_to_send_at_every_size(agents):
    vias = Counter(route.via for route in ring_scenario(agents).traffic.routes)
    assert vias == {"ws": agents // 2, "http": agents * 3 // 10, "bus": agents // 5}


def test_ring_recipients_allowlist_their_one_sender_and_senders_have_addresses_of_their_own():
    scenario = ring_scenario(300)
    allowlists = {agent.id: agent.shield.allowlist for agent in scenario.agents}
    assert all(allowlists[route.recipient] == [route.sender] for route in scenario.traffic.routes)
    assert len({agent.ip for agent in scenario.agents}) == 300
    assert scenario.agents[0].id == agent_id(0) == "agent-00000@scale.beam.directory"
    assert scenario.agents[299].ip == "10.0.1.43"
    assert scenario.retention.finished_rows == 900.0
    assert scenario.traffic.daily_profile is None and not scenario.traffic.workflows and not scenario.faults


@pytest.mark.parametrize("agents", [1, MAX_AGENTS + 1])
def test_ring_size_is_bounded(agents):
    with pytest.raises(ValueError, match="expected 2 to 100,000 agents"):
        ring_scenario(agents)


def test_ring_yaml_loads_back_to_the_same_scenario(tmp_path: Path):
    scenario = ring_scenario(40)
    text = scenario_yaml(scenario)
    path = tmp_path / "ring.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_scenario(path) == scenario
    assert parse_scenario(yaml.safe_load(text)) == scenario


def test_ring_yaml_writes_one_line_per_agent_acl_row_and_route():
    lines = scenario_yaml(ring_scenario(40)).splitlines()
    assert sum(line.startswith("- {id: agent-") for line in lines) == 40
    assert sum(line.startswith("- {target: agent-") for line in lines) == 40
    assert sum(line.lstrip().startswith("- {name: route-") for line in lines) == 40


# -- rounds and figures ----------------------------------------------------------------------------


def test_rounds_run_every_job_once_per_round_in_order():
    calls: list[str] = []

    def job(name: str, units: int):
        def measure() -> Sample:
            calls.append(name)
            return Sample(0.5 * len(calls), units)
        return name, measure

    seen: list[tuple[int, str]] = []
    samples = run_rounds([job("a", 2), job("b", 1)], 3, lambda number, name, _sample: seen.append((number, name)))
    assert calls == ["a", "b"] * 3
    assert seen == [(1, "a"), (1, "b"), (2, "a"), (2, "b"), (3, "a"), (3, "b")]
    assert samples == {"a": [Sample(0.5, 2), Sample(1.5, 2), Sample(2.5, 2)],
                       "b": [Sample(1.0, 1), Sample(2.0, 1), Sample(3.0, 1)]}
    assert [sample.cost for sample in samples["a"]] == [0.25, 0.75, 1.25]


def test_job_names_must_be_unique():
    with pytest.raises(ValueError, match="unique"):
        run_rounds([("a", lambda: Sample(1, 1)), ("a", lambda: Sample(1, 1))], 1)


def test_best_is_the_lowest_cost_and_ratios_pair_best_with_best_and_median_with_median():
    assert best_and_median([3.0, 1.0, 2.0]) == (1.0, 2.0)
    assert cost_ratio([4.0, 2.0, 3.0], [1.0, 2.0, 4.0]) == (2.0 / 1.0, 3.0 / 2.0)
    with pytest.raises(ValueError):
        best_and_median([])


# -- bounds and verdicts -----------------------------------------------------------------------------


@pytest.mark.parametrize("bound, figure, holds", [
    (Bound(op="<=", value=2.0), 2.0, True), (Bound(op="<=", value=2.0), 2.01, False),
    (Bound(op=">=", value=0.5), 0.5, True), (Bound(op=">=", value=0.5), 0.49, False),
])
def test_bound_holds(bound, figure, holds):
    assert bound.holds(figure) is holds


@pytest.mark.parametrize("best, median, verdict", [
    (1.5, 1.9, "holds"),
    (1.9, 2.3, "best round only"),
    (2.1, 2.3, "does not hold"),
])
def test_a_ratio_above_its_upper_bound_does_not_hold(best, median, verdict):
    assert judge(Bound(op="<=", value=2.0), best, median) == verdict


def test_a_ratio_below_its_lower_bound_does_not_hold():
    at_least = Bound(op=">=", value=0.5)
    assert judge(at_least, 0.24, 0.21) == "does not hold"
    assert judge(at_least, 0.52, 0.48) == "best round only"
    assert judge(at_least, 0.6, 0.55) == "holds"


def test_no_bound_no_verdict_and_a_run_too_short_is_not_judged():
    assert judge(None, 1.0, 1.0) is None
    assert judge(Bound(op="<=", value=1.1), 5.0, 5.0, judged=False) == "not judged"
    made = row("(x)", "figure", "×", 2.5, 3.0, 3, Bound(op="<=", value=2.0))
    assert (made.verdict, made.best, made.median, made.rounds) == ("does not hold", 2.5, 3.0, 3)


@pytest.mark.parametrize("value, unit, text", [
    (0.2149, "×", "0.21×"), (41234.6, "intents/s", "41,235"), (20.94, "µs", "20.9 µs"),
    (1.234, "s", "1.23 s"), (140.4, "MiB", "140 MiB"),
])
def test_figures_print_to_their_units_precision(value, unit, text):
    assert format_figure(value, unit) == text


def test_bounds_print_with_their_unit():
    assert Bound(op="<=", value=2.0).text("×") == "≤ 2×"
    assert Bound(op=">=", value=0.5).text("×") == "≥ 0.5×"
    assert Bound(op="<=", value=300.0).text("MiB") == "≤ 300 MiB"


# -- the cases' rows from given samples -------------------------------------------------------------


def samples_of(costs: list[float], units: int) -> list[Sample]:
    return [Sample(cost * units, units) for cost in costs]


def test_partner_day_rows_and_verdicts():
    cases = PartnerDayCases(FULL)
    cases.peak_rss_mib = 320.0
    samples = {
        WORLD_JOB: samples_of([30e-6, 25e-6, 28e-6], 1_000_000),
        REFERENCE_JOB: samples_of([6e-6, 5e-6, 7e-6], 1_000_000),
    }
    rows = {entry.figure: entry for entry in cases.rows(samples)}
    assert list(rows) == [
        "world intents/s, partner-day bare run", "reference intents/s, same routes and rates",
        "world / reference intents/s", "peak RSS, partner-day to 1,000,000 intents"]
    ratio = rows["world / reference intents/s"]
    assert (ratio.best, ratio.median) == pytest.approx((5 / 25, 6 / 28))
    assert ratio.verdict == "does not hold" and ratio.bound == Bound(op=">=", value=0.5)
    assert rows["peak RSS, partner-day to 1,000,000 intents"].verdict == "does not hold"
    assert rows["peak RSS, partner-day to 1,000,000 intents"].note == "15-min retention; the whole process, after its first job"
    cases.rss_before_mib = 163.6
    assert cases.rows(samples)[-1].note == ("15-min retention; the whole process, after its first job, which held "
                                            "164 MiB before it (imports and scenario)")
    assert rows["world intents/s, partner-day bare run"].best == pytest.approx(40_000)
    assert rows["world intents/s, partner-day bare run"].verdict is None


def test_linearity_rows_and_verdicts():
    case = LinearityCase(FULL)
    assert case.short_repeats == 10
    samples = {LONG_JOB: samples_of([25e-6, 28e-6, 30e-6], 1_000_000),
               SHORT_JOB: samples_of([24e-6, 26e-6, 25e-6], 100_000),
               WARM_JOB: samples_of([20e-6, 22e-6, 21e-6], 100_000)}
    rows = case.rows(samples)
    assert [entry.figure for entry in rows] == [
        "per-intent µs, to 10,000 intents", "per-intent µs, to 1,000,000 intents", "ratio 1,000,000 / 10,000 intents",
        "per-intent µs, to 100,000 intents", "ratio 1,000,000 / 100,000 intents (no bound)"]
    assert (rows[2].best, rows[2].median) == pytest.approx((25 / 24, 28 / 25))
    assert rows[2].verdict == "best round only"
    assert rows[0].note == "10,000 intents × 10 a round"
    assert (rows[3].best, rows[3].median) == pytest.approx((20.0, 21.0))
    assert (rows[4].best, rows[4].median, rows[4].bound, rows[4].verdict) == pytest.approx((1.25, 28 / 21, None, None))


def test_quick_runs_show_the_million_intent_bounds_without_judging_them():
    cases = PartnerDayCases(QUICK)
    cases.peak_rss_mib = 100.0
    rows = cases.rows({WORLD_JOB: samples_of([1e-5], 200_000), REFERENCE_JOB: samples_of([1e-6], 200_000)})
    rows += LinearityCase(QUICK).rows({LONG_JOB: samples_of([3e-5], 200_000), SHORT_JOB: samples_of([1e-5], 20_000),
                                       WARM_JOB: samples_of([2e-5], 20_000)})
    verdicts = {entry.case: entry.verdict for entry in rows if entry.bound is not None}
    assert verdicts == {"(a) throughput": "does not hold", "(d) linearity": "not judged", "(e) memory": "not judged"}


def test_constant_rate_partner_day_sends_as_much_a_day_without_profile_or_bursts():
    partner_day = load_scenario(SCENARIO)
    flat = constant_rate(partner_day)
    profile = partner_day.traffic.daily_profile
    assert profile is not None and flat.traffic.daily_profile is None and flat.traffic.bursts == []
    mean = sum(profile) / 24
    assert [route.rate for route in flat.traffic.routes] == pytest.approx(
        [route.rate * mean for route in partner_day.traffic.routes])
    assert flat.traffic.workflows == partner_day.traffic.workflows and flat.agents == partner_day.agents
    assert flat.name == "partner-day-constant-rate"


def test_scaling_rows_end_with_the_largest_ring_over_the_smallest():
    case = ScalingCase(FULL)
    samples = {job_name(10): samples_of([20e-6, 21e-6], 200_000), job_name(1000): samples_of([22e-6, 23e-6], 200_000),
               job_name(10_000): samples_of([50e-6, 60e-6], 200_000)}
    rows = case.rows(samples)
    assert [entry.figure for entry in rows] == ["per-intent µs, 10 agents", "per-intent µs, 1,000 agents",
                                                "per-intent µs, 10,000 agents", "ratio 10,000 / 10 agents"]
    assert (rows[-1].best, rows[-1].median) == pytest.approx((2.5, 55 / 20.5))
    assert rows[-1].verdict == "does not hold" and rows[-1].bound == Bound(op="<=", value=2.0)
    assert (rows[0].best, rows[0].median) == pytest.approx((20.0, 20.5))


def test_scaling_needs_two_sizes():
    with pytest.raises(ValueError, match="two different ring sizes"):
        ScalingCase(FULL.model_copy(update={"scaling_sizes": (10, 10)}))


def test_loading_rows_add_load_and_build_round_by_round():
    case = LoadingCase(FULL)
    try:
        rows = case.rows({LOAD_JOB: [Sample(1.5, 1), Sample(1.0, 1), Sample(1.2, 1)],
                          BUILD_JOB: [Sample(0.2, 1), Sample(0.9, 1), Sample(0.5, 1)]})
    finally:
        case.close()
    assert [entry.figure for entry in rows] == ["load_scenario, 10,000 agents", "World(...) build, 10,000 agents",
                                                "load + build"]
    assert (rows[2].best, rows[2].median) == pytest.approx((1.7, 1.7))  # rounds: 1.7, 1.9, 1.7
    assert rows[2].verdict == "holds"


def test_telemetry_rows_are_each_sink_over_the_untraced_run():
    case = TelemetryCase(QUICK)
    try:
        samples = {telemetry_job("none"): [Sample(2.0, 900), Sample(4.0, 900)],
                   telemetry_job("events"): [Sample(3.0, 900), Sample(5.0, 900)],
                   telemetry_job("traces"): [Sample(5.0, 900), Sample(9.0, 900)],
                   telemetry_job("metrics"): [Sample(2.1, 900), Sample(4.2, 900)]}
        rows = case.rows(samples)
    finally:
        case.close()
    assert [(entry.figure, entry.bound.text("×") if entry.bound else "") for entry in rows] == [
        ("--events, cost over the untraced run", "≤ 1.5×"), ("--traces all, cost over the untraced run", "≤ 2×"),
        ("--metrics, cost over the untraced run", "≤ 1.1×")]
    assert [value for entry in rows for value in (entry.best, entry.median)] == pytest.approx(
        [1.5, 4 / 3, 2.5, 7 / 3, 1.05, 1.05])
    assert [entry.verdict for entry in rows] == ["holds", "does not hold", "holds"]
    # medians 4.0, 7.0 and 3.15 s against 3.0, over 900 intents
    assert [entry.note.rsplit("; ", 1)[1] for entry in rows] == [
        "the sink adds 1,111.1 µs an intent (medians)", "the sink adds 4,444.4 µs an intent (medians)",
        "the sink adds 166.7 µs an intent (medians)"]


def test_telemetry_runs_write_their_files_and_count_the_same_intents():
    case = TelemetryCase(QUICK.model_copy(update={"telemetry_hours": 0.05}))
    try:
        samples = run_rounds(case.jobs(), 1)
        written = sorted(path.name for path in Path(case._scratch.name).iterdir())
        events = (Path(case._scratch.name) / "events.jsonl").read_text().splitlines()
    finally:
        case.close()
    assert list(samples) == [telemetry_job(sink) for sink in ("none", "events", "traces", "metrics")]
    assert len({runs[0].units for runs in samples.values()}) == 1  # the sinks do not change the world
    assert written == ["events.jsonl", "telemetry.out"]
    assert len(events) > samples[telemetry_job("none")][0].units  # at least one event per intent


def test_no_telemetry_hours_no_telemetry_jobs():
    case = TelemetryCase(QUICK.model_copy(update={"telemetry_hours": 0}))
    try:
        assert (case.jobs(), case.rows({})) == ([], [])
    finally:
        case.close()


# -- a whole run, tiny ---------------------------------------------------------------------------------


TINY = BenchConfig(mode="quick", intents=4000, small_intents=2000, scaling_sizes=(10, 20), scaling_intents=500,
                   load_agents=30, rounds=2, telemetry_hours=0)


def test_a_tiny_run_fills_the_table_in_case_order():
    jobs: list[str] = []
    report = run_cases(TINY, lambda _number, name, _sample: jobs.append(name))
    assert jobs == [WORLD_JOB, REFERENCE_JOB, LONG_JOB, SHORT_JOB, WARM_JOB, job_name(10), job_name(20), LOAD_JOB,
                    BUILD_JOB] * 2
    assert [entry.case for entry in report.rows] == (
        ["(a) throughput"] * 3 + ["(b) agent scaling"] * 3 + ["(c) scenario load"] * 3 + ["(d) linearity"] * 5
        + ["(e) memory"])
    assert all(entry.rounds == 2 for entry in report.rows if entry.case != "(e) memory")
    assert [entry.verdict for entry in report.rows if entry.case in ("(d) linearity", "(e) memory")
            and entry.bound is not None] == ["not judged", "not judged"]
    assert report.conservation == []
    assert BenchReport.model_validate(report.model_dump(mode="json")) == report
    table = cases_table(report)
    assert [column.header for column in table.columns] == ["case", "figure", "best", "median", "wanted", "verdict",
                                                           "run"]
    assert table.row_count == len(report.rows)


def test_bench_refuses_too_few_intents_or_rounds():
    result = beamdrill("bench", "--intents", "1000", "--rounds", "0")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "(command line): --intents: expected at least 20,000 (twice the short run's), found 1000",
        "(command line): --rounds: expected at least 1, found 0"]


def test_bench_sweeps_runs_the_sweep_case_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """``bench --sweeps`` is case (g) only: the other cases (minutes of CPU) must not follow it."""
    from typer.testing import CliRunner

    import drills.benchmark.run as bench_run
    import drills.cli.bench as bench_cli
    from drills.cli import app

    ran: list[str] = []
    monkeypatch.setattr(bench_cli, "_sweep_case", lambda rounds, as_json: ran.append(f"sweeps x{rounds}"))
    monkeypatch.setattr(bench_run, "run_cases", lambda *args: ran.append("the other cases"))
    result = CliRunner().invoke(app, ["bench", "--sweeps", "--rounds", "2"])
    assert (result.exit_code, ran) == (0, ["sweeps x2"])
