"""The cheap estimate of the work a run implies, checked before anything is built: a run
far beyond what this machine does in minutes is refused unless ``--allow-large`` is given."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from simulator import Problem, Scenario, expected_intents

#: Runs implying more intents than this need --allow-large (about 8 minutes at 40k/s).
MAX_INTENTS: Final[int] = 20_000_000
ALLOW_LARGE_HELP: Final[str] = f"Run even when the traffic implies more than {MAX_INTENTS:,} intents."


def too_large(scenario: Scenario, until: float, file: Path) -> Problem | None:
    """The problem with running ``scenario`` to virtual time ``until``, if it implies more
    than :data:`MAX_INTENTS` intents (rates x duration x daily profile and bursts)."""
    intents = expected_intents(scenario, until)
    if intents <= MAX_INTENTS:
        return None
    return Problem(file=str(file), field="traffic", message=(
        f"expected at most {MAX_INTENTS:,} intents without --allow-large, found about {intents:,.0f} "
        f"in {until:g} virtual s (rates x duration x daily profile and bursts)"))
