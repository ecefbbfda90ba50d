"""``beamdrill scenario list``: the built-in scenarios, the worlds drills and runs start from."""

from __future__ import annotations

from typing import Annotated

import typer

from drills.cli.console import console, fail_input, json_option, print_json
from drills.drillfile.builtin import builtin_scenarios
from drills.drillfile.listing import ScenarioList, ScenarioListing
from drills.runs.wholetable import WholeTable
from simulator import InputError, Problem, load_scenario
from simulator.kernel.units import format_duration

scenario_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                           help="Scenarios: the built-in worlds runs and drills start from.")


@scenario_app.command("list", epilog="Example: beamdrill scenario list   |   beamdrill scenario list --json")
def list_scenarios(as_json: Annotated[bool, json_option("one record per scenario")] = False) -> None:
    """List the built-in scenarios: name, file, agents, duration, faults and description."""
    problems: list[Problem] = []
    listings: list[ScenarioListing] = []
    for file in builtin_scenarios():
        try:
            listings.append(ScenarioListing.of(load_scenario(file), file))
        except InputError as error:
            problems += error.problems
    if problems:
        fail_input(problems)
    listed = ScenarioList(scenarios=listings)
    if as_json:
        print_json(listed.model_dump(mode="json"))
        return
    table = WholeTable()
    table.add_id_column("scenario")
    table.add_id_column("file")
    for column in ("agents", "duration", "faults"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("description")
    for scenario in listed.scenarios:
        table.add_row(scenario.name, scenario.file, str(scenario.agents), format_duration(scenario.duration),
                      str(scenario.faults), scenario.description)
    console.print(table, markup=False, highlight=False)
