"""What a bench run measures: the full run the README's figures come from, and the quick
run ``make bench`` does in a few minutes."""

from __future__ import annotations

from typing import Final, Literal

from pydantic import BaseModel, ConfigDict

#: How many intents the linearity and memory bounds are about.
BOUND_INTENTS: Final[int] = 1_000_000


class BenchConfig(BaseModel):
    """The sizes of every case.

    ``intents``: partner-day's run against the reference, the long end of the linearity
    case and the memory figure; ``small_intents``: the short end of the linearity case;
    ``scaling_sizes`` and ``scaling_intents``: the agent-scaling rings and the intents each
    runs; ``load_agents``: the generated scenario the load case reads; ``telemetry_hours``:
    partner-day's virtual hours for the telemetry costs (0 skips them).
    """

    model_config = ConfigDict(frozen=True)

    mode: Literal["full", "quick"]
    intents: int
    small_intents: int = 10_000
    scaling_sizes: tuple[int, ...] = (10, 1_000, 10_000)
    scaling_intents: int
    load_agents: int = 10_000
    rounds: int = 3
    seed: int = 1
    telemetry_hours: float

    @property
    def judges_long_runs(self) -> bool:
        """Whether this run is long enough to judge the bounds about a million intents."""
        return self.intents >= BOUND_INTENTS


#: ``beamdrill bench``: every bound judged on the sizes it names.
FULL: Final[BenchConfig] = BenchConfig(mode="full", intents=BOUND_INTENTS, scaling_intents=200_000,
                                       telemetry_hours=12.0)
#: ``beamdrill bench --quick`` (``make bench``): the same cases on smaller runs; the bounds
#: about a million intents are shown, not judged.
QUICK: Final[BenchConfig] = BenchConfig(mode="quick", intents=200_000, scaling_intents=50_000,
                                        telemetry_hours=3.0)
