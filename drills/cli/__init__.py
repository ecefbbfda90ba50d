"""The ``beamdrill`` command line, one module per command group.

- :mod:`~drills.cli.app`: the root app and the console script's ``main``;
- :mod:`~drills.cli.run`: ``beamdrill run``;
- :mod:`~drills.cli.drill`: ``beamdrill drill list|show|check|run``;
- :mod:`~drills.cli.scenario`: ``beamdrill scenario list``;
- :mod:`~drills.cli.views`: ``beamdrill trace|inbox|alerts|dead-letters``;
- :mod:`~drills.cli.schema`: ``beamdrill schema scenario|drill``;
- :mod:`~drills.cli.sweep`: ``beamdrill sweep``;
- :mod:`~drills.cli.bench`: ``beamdrill bench``;
- :mod:`~drills.cli.dashboards`: ``beamdrill dashboards [snapshot]``;
- :mod:`~drills.cli.prometheus`: ``beamdrill prometheus``;
- :mod:`~drills.cli.gameday`: ``beamdrill gameday``;
- :mod:`~drills.cli.gate`: ``beamdrill gate``;
- :mod:`~drills.cli.console`: where output goes, and bad input as one line and exit 2.

Importing this package registers every command on :data:`app`. A new command group is a
module here that registers on ``app`` and is imported below.
"""

from drills.cli.app import app, main
# Registration order is the order --help lists the commands in.
from drills.cli import run, views, schema, sweep, bench, prometheus, gate, gameday  # noqa: E402,I001
from drills.cli.drill import drill_app
from drills.cli.scenario import scenario_app
from drills.cli.dashboards import dashboards_app

app.add_typer(drill_app, name="drill")
app.add_typer(scenario_app, name="scenario")
app.add_typer(dashboards_app, name="dashboards")

__all__ = ["app", "bench", "gameday", "gate", "main", "prometheus", "run", "schema", "sweep", "views"]
