"""``beamdrill drill show``: a drill as resolved, in lines a person reads before running it.

The header gives the file, what it rehearses, the scenario file it runs on (resolved from
the drill's directory), the seed it runs with (the drill's or the scenario's) and how long
the method runs; then every fault with its window, every operator step at its time, every
expectation with its window, the steady-state probes, the guards and the rollbacks. Each
spec is written as its kind and the fields the file gives (``key=value``; ``--json`` has
every default), times as a drill file writes them (``12m30s``).
"""

from __future__ import annotations

import json
from typing import Any, Final

from drills.drillfile.loader import LoadedDrill
from drills.drillfile.probes import ProbeBase
from drills.drillfile.steps import StepBase
from drills.runs.files import shown_path
from simulator.kernel.fields import Model
from simulator.kernel.units import format_duration
from simulator.scenario.faults import FaultBase, InstantFault

#: Fields shown in a line's window or name, or as the comparison, not among its details.
_TIMING: Final[frozenset[str]] = frozenset({"name", "at", "by", "after", "duration", "until"})
_COMPARISONS: Final[frozenset[str]] = frozenset({"equals", "one_of", "at_least", "at_most", "contains"})


def _value(value: Any) -> str:
    """A field's value as the line shows it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ",".join(_value(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _spec(spec: Model, tag: str) -> str:
    """``name: kind key=value ...`` for a fault, step or probe (and its comparison); ``tag`` is
    the field that says which kind it is (``kind``, ``action`` or ``probe``)."""
    given = spec.model_dump(mode="json", by_alias=True, exclude_unset=True)
    kind = str(given.pop(tag))
    details = [f"{key}={_value(value)}" for key, value in given.items() if key not in _TIMING | _COMPARISONS]
    text = " ".join([kind, *details])
    if isinstance(spec, ProbeBase):
        text += f" {spec.describe()}"
    name = getattr(spec, "name", None)
    return f"{name}: {text}" if name else text


def _fault_window(fault: FaultBase) -> str:
    start = format_duration(fault.at)
    if isinstance(fault, InstantFault):
        return f"at {start}"
    end = fault.end
    return f"from {start}" if end is None else f"from {start} to {format_duration(end)}"


def _probe_window(probe: ProbeBase) -> str:
    if probe.at is not None:
        return f"at {format_duration(probe.at)}"
    if probe.by is None:
        return ""
    return (f"from {format_duration(probe.after)} " if probe.after else "") + f"by {format_duration(probe.by)}"


def _step_window(step: StepBase) -> str:
    return "" if step.at is None else f"at {format_duration(step.at)}"


def describe(loaded: LoadedDrill) -> list[str]:
    """The drill as lines: its header, then one section per part the drill has."""
    drill = loaded.drill
    overrides = ", with overrides" if drill.overrides else ""
    seed = f"{drill.seed} (the drill's)" if drill.seed is not None else f"{loaded.seed} (the scenario's)"
    lines = [f"{loaded.name}: {drill.title}",
             f"  file       {shown_path(loaded.path)}",
             f"  rehearses  {drill.rehearses}",
             f"  scenario   {shown_path(loaded.scenario_file)} ({loaded.scenario.name}){overrides}",
             f"  seed       {seed}",
             f"  duration   {format_duration(drill.duration)}"
             + (f", then {format_duration(drill.settle)} to settle" if drill.settle else "")]
    if drill.description:
        lines.append(f"  {drill.description}")
    sections: list[tuple[str, list[tuple[str, str]]]] = [
        ("faults", [(_fault_window(fault), _spec(fault, "kind")) for fault in drill.faults]),
        ("steps", [(_step_window(step), _spec(step, "action")) for step in drill.steps]),
        ("expectations", [(_probe_window(probe), _spec(probe, "probe")) for probe in drill.expectations]),
        ("steady state before", [("", _spec(probe, "probe")) for probe in drill.steady_state.before]),
        ("steady state after", [("", _spec(probe, "probe")) for probe in drill.steady_state.after]),
        (f"guards (every {format_duration(drill.guard_interval)})",
         [("", _spec(probe, "probe")) for probe in drill.guards]),
        ("rollbacks", [("", _spec(step, "action")) for step in drill.rollbacks]),
    ]
    width = max((len(window) for _, rows in sections for window, _ in rows), default=0)
    for title, rows in sections:
        if rows:
            lines.append(title)
            lines += [f"  {window:<{width}}  {text}" if window else f"  {text}" for window, text in rows]
    return lines
