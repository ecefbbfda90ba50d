"""beamdrill's world: Beam's directory, message bus, agents and traffic on SimPy virtual time.

The package reads no wall clock and writes no files. Build a world from a scenario and run it::

    from simulator import World, load_scenario
    summary = World(load_scenario("scenarios/demo.yaml"), seed=7).run()

What is exported here is the world's public API, the one :mod:`drills` drives it through;
the subpackages (``kernel``, ``scenario``, ``beam``, ``operator``, ``telemetry``) are its
layers, described in the README's architecture map.
"""

from simulator.native import guard as world_build

world_build()  # before any compiled module is imported

from simulator.beam.agents import ShadowAnswer
from simulator.changes import (
    AgentVersionChange, Change, Exposure, RateLimitChange, RetryPolicyChange, ShieldChange, StagedChange,
)
from simulator.conservation import ConservationError, HistoryError
from simulator.kernel.illegal import IllegalTransition
from simulator.kernel.problems import InputError, Problem
from simulator.loading import load_scenario, parse_scenario
from simulator.scenario.loader import ScenarioError
from simulator.scenario.model import Scenario
from simulator.scenario.tenants import TenantSpec, tenant_of
from simulator.summary import Summary
from simulator.workload import expected_intents
from simulator.world import World

__all__ = ["AgentVersionChange", "Change", "Exposure", "RateLimitChange", "RetryPolicyChange", "ShieldChange", "ShadowAnswer", "StagedChange", "ConservationError", "HistoryError", "IllegalTransition", "InputError", "Problem", "Scenario", "ScenarioError", "Summary",
           "TenantSpec", "World", "expected_intents", "tenant_of", "load_scenario", "parse_scenario", "world_build"]
