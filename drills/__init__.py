"""beamdrill's exercise half: drill files and their runner, proof packs, the command line.

Run a built-in drill from Python::

    from pathlib import Path
    from drills import load_drill, run_drill
    outcome = run_drill(load_drill("drills/catalog/fm3-dead-letter.yaml"), Path("runs/fm3"))
    print(outcome.verdict, outcome.journal.expectations_held)
"""

from drills.drillfile.loader import DrillError, LoadedDrill, load_drill
from drills.executor.execute import DrillOutcome, run_drill

__all__ = ["DrillError", "DrillOutcome", "LoadedDrill", "load_drill", "run_drill"]
