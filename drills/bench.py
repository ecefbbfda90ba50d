"""``beamdrill bench``: the world's throughput as a ratio to a bare-SimPy reference, and
its memory as the run grows, measured in one process so the machine's noise cancels."""

from __future__ import annotations

import resource
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from simulator.reference import ReferenceModel
from simulator.scenario import load_scenario
from simulator.world import World

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "partner-day.yaml"
HOUR = 3600.0


def _rss_mib() -> float:
    """Current resident memory of this process in MiB (Linux)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_bench(intents: int, seed: int, console: Console) -> dict[str, float]:
    """Run partner-day to about ``intents`` relayed intents, then the reference model on the
    same count; print and return intents per second of each, their ratio and memory."""
    world = World(load_scenario(SCENARIO), seed)
    rss: list[tuple[float, float, int, int]] = []
    started = time.perf_counter()
    while world.directory.ledger.accepted < intents:
        world.env.run(until=world.env.now + HOUR)
        finished = world.directory.ledger.buckets()["success"] + world.directory.ledger.buckets()["error"]
        held = len(world.directory.rows) + len(world.bus.by_nonce)
        rss.append((world.env.now, _rss_mib(), finished, held))
        console.print(f"  world t={world.env.now / HOUR:4.0f} h  intents {world.directory.ledger.accepted:>9,}  "
                      f"rows held {held:>7,}  rss {rss[-1][1]:6.1f} MiB", highlight=False)
    world_wall = time.perf_counter() - started
    world_intents = world.directory.ledger.accepted
    problems = world.summary().conservation
    mean_rate = world_intents / world.env.now
    directory = world.directory.ledger.buckets()
    failure_rate = directory["error"] / max(1, directory["success"] + directory["error"])

    reference = ReferenceModel(rate=mean_rate, failure_rate=failure_rate, seed=seed)
    started = time.perf_counter()
    reference.run(world_intents)
    reference_wall = time.perf_counter() - started

    world_speed = world_intents / world_wall
    reference_speed = reference.sent / reference_wall
    ratio = world_speed / reference_speed
    table = Table(title=f"beamdrill bench: partner-day, seed {seed}")
    table.add_column("model")
    table.add_column("intents", justify="right")
    table.add_column("virtual h", justify="right")
    table.add_column("wall s", justify="right")
    table.add_column("intents/s", justify="right")
    table.add_row("world (partner-day)", f"{world_intents:,}", f"{world.env.now / HOUR:.0f}",
                  f"{world_wall:.2f}", f"{world_speed:,.0f}")
    table.add_row("bare-SimPy reference", f"{reference.sent:,}", f"{reference.env.now / HOUR:.0f}",
                  f"{reference_wall:.2f}", f"{reference_speed:,.0f}")
    console.print(table)
    quarter = rss[len(rss) // 4]
    last = rss[-1]
    console.print(f"throughput ratio world/reference: {ratio:.2f}x (target >= 0.5x)", highlight=False)
    console.print(f"memory: rss {quarter[1]:.1f} MiB at {quarter[0] / HOUR:.0f} h with {quarter[2]:,} finished "
                  f"intents, {last[1]:.1f} MiB at {last[0] / HOUR:.0f} h with {last[2]:,} "
                  f"(rows held {quarter[3]:,} → {last[3]:,}); peak rss {_peak_rss_mib():.1f} MiB", highlight=False)
    if problems:
        console.print(f"conservation VIOLATED: {problems}", style="bold red")
    return {"world_intents_per_s": world_speed, "reference_intents_per_s": reference_speed, "ratio": ratio,
            "rss_quarter_mib": quarter[1], "rss_end_mib": last[1]}
