"""``beamdrill schema scenario|drill``: the JSON Schema of a file kind, for editors."""

from __future__ import annotations

from typing import Annotated

import typer

from drills.cli.app import app
from drills.cli.console import fail_input, print_json
from drills.drillfile.editorschema import SCHEMA_MODELS, json_schema
from simulator import Problem


@app.command(epilog="Example: beamdrill schema scenario > scenario.schema.json   |   "
                    "beamdrill schema drill > drill.schema.json")
def schema(kind: Annotated[str, typer.Argument(metavar="KIND", help="scenario or drill.")]) -> None:
    """Print the JSON Schema of scenario or drill files, generated from the models that
    validate them, for an editor to check YAML against (see the README)."""
    if kind not in SCHEMA_MODELS:
        fail_input([Problem(file="(command line)", field="KIND",
                            message=f"expected one of {', '.join(SCHEMA_MODELS)}, found {kind!r}")])
    print_json(json_schema(kind))
