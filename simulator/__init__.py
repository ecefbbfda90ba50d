"""beamdrill's world: Beam's directory, message bus, agents and traffic on SimPy virtual time.

The package reads no wall clock and writes no files. Build a world from a scenario and run it::

    from simulator import World, load_scenario
    summary = World(load_scenario("scenarios/demo.yaml"), seed=7).run()
"""

from simulator.scenario import Scenario, ScenarioError, load_scenario
from simulator.world import Summary, World

__all__ = ["Scenario", "ScenarioError", "Summary", "World", "load_scenario"]
