"""The built-in studies (drills/sweeps/*.yaml, drills/sweep/studies.py): each loads by name,
its grid is what its README paragraph says, and its report section reads crafted runs
as the study's reader would (exact lines)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from drills.sweep.builtin import builtin_sweeps, resolve_sweep
from drills.sweep.grid import Plan, load_plan
from drills.sweep.measures import MeasureSink
from drills.sweep.model import Axis, SweepError
from drills.sweep.studies import study_section
from simulator import World, load_scenario, parse_scenario
from simulator.kernel.events import Event
from simulator.kernel.problems import Problem

ROOT = Path(__file__).resolve().parent.parent
SWEEPS = ROOT / "drills" / "sweeps"


def measures(**values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"intents": 10, "delivered": 10, "attempts": 10, "recovered": None,
                            "time_to_recover": None, "completion_time": None, "dead_letters": 0,
                            "latency_p99": None, "attempts_per_intent": 1.0, "duplicated": 0}
    return {**base, **values}


def records_for(plan: Plan, make: Any) -> dict[tuple[int, int], dict[str, Any]]:
    return {(cell.index, 0): {"cell": cell.index, "replication": 0, "status": "ok",
                              "measures": make(plan, cell)} for cell in plan.cells}


def test_every_built_in_sweep_loads_by_name_with_its_study() -> None:
    names = [path.stem for path in builtin_sweeps()]
    assert names == ["backoff-contention", "judge-power", "metastability", "retries-under-load", "retry-policies"]
    runs = {}
    for name in names:
        found = resolve_sweep(name)
        assert isinstance(found, Path)
        plan = load_plan(found)
        runs[name] = (plan.sweep.study, len(plan.cells) * len(plan.seeds))
    assert runs == {"backoff-contention": ("backoff-contention", 45), "judge-power": ("judge-power", 72),
                    "metastability": ("metastability", 96),
                    "retries-under-load": (None, 18), "retry-policies": ("retry-policies", 42)}


def test_an_unknown_sweep_name_is_one_problem_listing_the_built_in_ones() -> None:
    found = resolve_sweep("metastable")
    assert found == Problem(file="(command line)", field="SWEEP", message=(
        "expected a sweep file or one of backoff-contention, judge-power, metastability, retries-under-load, "
        "retry-policies, "
        "found 'metastable'"))
    assert resolve_sweep("my.yaml") == Path("my.yaml")


def test_axis_labels_show_values_and_must_match_them(tmp_path: Path) -> None:
    axis = Axis(path="bus.retry_policy", values=["beam", {"preset": "fixed"}], labels=["Beam", "fixed 30 s"])
    assert [axis.text(value) for value in axis.values] == ["Beam", "fixed 30 s"]
    assert Axis(path="p", values=[{"a": 1}, None]).text({"a": 1}) == '{"a":1}'
    path = tmp_path / "s.yaml"
    path.write_text(f"name: s\nscenario: {SWEEPS / 'worlds' / 'outage.yaml'}\n"
                    "grid:\n  - {path: load, values: [1, 2], labels: [one]}\n")
    with pytest.raises(SweepError) as raised:
        load_plan(path)
    assert [problem.line() for problem in raised.value.problems] == [
        f"{path}: grid[0]: expected one label per value (2), found 1"]


def test_an_axis_that_removes_a_later_axis_field_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(f"name: s\nscenario: {SWEEPS / 'worlds' / 'outage.yaml'}\n"
                    "grid:\n  - {path: 'faults[0]', values: [{kind: bus_restart, at: 60}]}\n"
                    "  - {path: 'faults[0].duration', values: [5]}\n")
    with pytest.raises(SweepError) as raised:
        load_plan(path)
    assert [(problem.field, problem.message) for problem in raised.value.problems][-1] == (
        "grid (cell faults[0]={'kind': 'bus_restart', 'at': 60}, faults[0].duration=5)",
        "unknown field 'duration' in faults[0]; expected one of: kind, at")


def test_completion_time_is_the_last_delivery() -> None:
    data = load_scenario(SWEEPS / "worlds" / "contention.yaml").model_dump(mode="json", by_alias=True)
    data["traffic"]["routes"][0]["count"] = 5
    world = World(parse_scenario(data))
    sink, events = MeasureSink(), []
    world.subscribe(sink)
    world.subscribe(events.append)
    world.run()
    acked = [e.time for e in events if e.kind == "transition" and e.data["to"] == "acked"]
    result = sink.measures(world, world.now, 10, 0.1)
    assert result.delivered == 5 and len(acked) == 5
    assert result.completion_time == max(acked)


# -- the studies' report sections ---------------------------------------------------------


def test_backoff_contention_states_whether_brookers_ordering_holds() -> None:
    plan = load_plan(SWEEPS / "backoff-contention.yaml")
    work = {"fixed": 900, "exponential": 300, "full_jitter": 200, "equal_jitter": 190, "decorrelated_jitter": 260}
    time = {"fixed": 0.1, "exponential": 30.0, "full_jitter": 10.0, "equal_jitter": 11.0,
            "decorrelated_jitter": 12.0}

    def make(plan: Plan, cell: Any) -> dict[str, Any]:
        preset = cell.levels[1]["preset"]
        return measures(intents=25, delivered=5 if preset == "fixed" else 25, attempts=work[preset],
                        completion_time=time[preset])

    lines = study_section(plan, records_for(plan, make), [])
    assert lines[:3] == ["", "## Study: backoff-contention", ""]
    assert "| exponential (no jitter) | 300 | 30 | 1 |" in lines
    assert "| no backoff | 900 | 0.1 | 0.2 |" in lines
    verdicts = [line for line in lines if line.startswith("- 25 clients")]
    assert verdicts == [
        "- 25 clients, work: exponential without jitter is the worst of the backoffs (300 against 200, 190, 260).",
        "- 25 clients, completion time: exponential without jitter is the worst of the backoffs "
        "(30 against 10, 11, 12).",
        "- 25 clients: full and equal jitter are about equal in work (200 and 190, 5% apart).",
        "- 25 clients: decorrelated jitter does more work than full and equal (260, 1.30× the larger of the two).",
    ]


def test_metastability_draws_the_boundary_and_checks_the_expected_results() -> None:
    plan = load_plan(SWEEPS / "metastability.yaml")
    clients, trigger, duration, load = (plan.axes.index(plan.sweep.axis(name)) for name in
                                        ("clients", "trigger", "duration", "load"))

    def make(plan: Plan, cell: Any) -> dict[str, Any]:
        mode, size, length, level = (cell.positions[i] for i in (clients, trigger, duration, load))
        # Retries collapse for the bigger trigger of each kind when it lasts 15 s or more
        # at full load; every other run recovers, 10 s after the trigger plus its length.
        collapsed = mode == 1 and size % 2 == 1 and length >= 1 and level == 1
        return measures(recovered=not collapsed, time_to_recover=None if collapsed else 10.0 + length)

    lines = study_section(plan, records_for(plan, make), [])
    start = lines.index("**clients: retries**, load 1")
    assert lines[start + 2:start + 8] == [
        "| trigger | 5 s | 15 s | 30 s |", "|---|---|---|---|",
        "| capacity to 40% | ✓ 10 | ✓ 11 | ✓ 12 |",
        "| capacity to 25% | ✓ 10 | ✗ | ✗ |",
        "| load ×2 | ✓ 10 | ✓ 11 | ✓ 12 |",
        "| load ×3 | ✓ 10 | ✗ | ✗ |"]
    checks = lines[lines.index("**Do the expected qualitative results hold?** (Bronson et al., HotOS'21; "
                               "Huang et al., OSDI'22)") + 2:]
    assert checks[:4] == [
        "- With client retries, 4 of 24 triggers (sizes × durations × loads) left goodput collapsed after the "
        "trigger ended: a large enough trigger does tip the world into a lasting overload.",
        "- Of those 4, 4 recovered without client retries (no retries).",
        "- Of those 4, 4 recovered with a retry budget (budget 20%+10/s).",
        "- Of those 4, 4 recovered with a retry budget (budget 20%+1/s).",
    ]
    assert "- clients retries: a bigger or longer trigger of the same kind never recovered where a smaller one " \
           "did not: yes." in checks
    assert "- clients retries: a higher base load never recovered where a lower one did not: yes." in checks


def test_metastability_reports_a_boundary_that_is_not_monotonic() -> None:
    plan = load_plan(SWEEPS / "metastability.yaml")
    clients, trigger, duration, load = (plan.axes.index(plan.sweep.axis(name)) for name in
                                        ("clients", "trigger", "duration", "load"))

    def make(plan: Plan, cell: Any) -> dict[str, Any]:
        mode, size, length, level = (cell.positions[i] for i in (clients, trigger, duration, load))
        # A short, small trigger collapses where the same one at half the load recovers,
        # but the longer one recovers: two breaks of monotonicity in duration.
        collapsed = mode == 1 and size == 0 and length == 0 and level == 0
        return measures(recovered=not collapsed, time_to_recover=None if collapsed else 10.0)

    lines = study_section(plan, records_for(plan, make), [])
    assert "- clients retries: a bigger or longer trigger of the same kind never recovered where a smaller one " \
           "did not: no (5 pairs)." in lines
    assert "- clients retries: a higher base load never recovered where a lower one did not: no (1 cells)." in lines


def test_retry_policies_tabulates_each_load_with_the_best_in_bold() -> None:
    plan = load_plan(SWEEPS / "retry-policies.yaml")
    policy = plan.axes.index(plan.sweep.axis("policy"))

    def make(plan: Plan, cell: Any) -> dict[str, Any]:
        index = cell.positions[policy]
        return measures(dead_letters=100 - index, latency_p99=5.0 + index, attempts_per_intent=1.0 + index / 10,
                        duplicated=index % 2)

    lines = study_section(plan, records_for(plan, make), [])
    start = lines.index("**load 1**")
    assert lines[start + 2:start + 6] == [
        "| policy | dead letters | p99 latency (s) | attempts per intent | duplicated |", "|---|---|---|---|---|",
        "| beam | 100 | **5** | **1** | **0** |",
        "| none | 99 | 6 | 1.1 | 1 |"]
    assert lines[start + 10] == "| decorrelated_jitter | **94** | 11 | 1.6 | **0** |"


def test_a_study_without_its_axes_says_which_are_missing(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(f"name: s\nstudy: metastability\nscenario: {SWEEPS / 'worlds' / 'outage.yaml'}\n"
                    "grid:\n  - {path: load, values: [1]}\n")
    plan = load_plan(path)
    assert study_section(plan, {}, []) == [
        "", "## Study: metastability", "",
        "This study reads the axes clients, trigger, duration; the sweep has no axis clients, trigger, duration."]


def test_judge_power_tabulates_the_caught_share_with_its_wilson_interval_per_rollout_and_exposure() -> None:
    from drills.sweep.stats import cell_summaries

    plan = load_plan(SWEEPS / "judge-power.yaml")
    rollout, exposure = ([axis.label for axis in plan.axes].index(name) for name in ("rollout", "exposure"))

    def make(plan: Plan, cell: Any) -> dict[str, Any]:
        harmful = cell.levels[rollout] != "assistant-v2-harmless"
        judged = cell.levels[exposure] > 1
        caught = harmful and judged
        return {"decision": "Failed" if caught else "Successful" if judged else "Inconclusive", "reason": "",
                "decided_at_step": 0, "first_step_exposure_pct": cell.levels[exposure],
                "caught_at_first_step": caught, "failed": caught, "inconclusive": not judged,
                "promoted": judged and not harmful, "rolled_back_within_limit": caught,
                "rollback_seconds": 150.0 if caught else None, "blast_radius_intents": 10 * cell.levels[exposure]}

    records = records_for(plan, make)
    lines = study_section(plan, records, cell_summaries(plan, records))
    assert lines[5:8] == [
        "| rollout | exposure | caught at the first step (share, 95 % CI) | failed | inconclusive | promoted | "
        "rolled back in time | rollback s | blast radius (intents) |", "|---|---|---|---|---|---|---|---|---|",
        "| assistant-v3-slow | 1 | 0/1 (0%, 0%–79%) | 0/1 | 1/1 | 0/1 | 0/1 | — | 10 |"]
    assert lines[10] == "| bus-aggressive-retries | 1 | 0/1 (0%, 0%–79%) | 0/1 | 1/1 | 0/1 | 0/1 | — | 10 |"
    assert lines[12] == "| bus-aggressive-retries | 5 | 1/1 (100%, 21%–100%) | 1/1 | 0/1 | 0/1 | 1/1 | 150 | 50 |"
    assert lines[15] == "| assistant-v2-harmless | 5 | 0/1 (0%, 0%–79%) | 0/1 | 0/1 | 1/1 | 0/1 | — | 50 |"
