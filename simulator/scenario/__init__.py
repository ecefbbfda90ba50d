"""The scenario layer: what a world is made of, as validated pydantic models.

- :mod:`~simulator.scenario.model`: the schema (agents, ACL, bus, directory, retention,
  traffic, fidelity), :mod:`~simulator.scenario.parts` its shared parts, and
  :mod:`~simulator.scenario.faults` the fault specs.
- :mod:`~simulator.scenario.loader`: YAML in, a :class:`Scenario` or a
  :class:`ScenarioError` with one line per problem out.

May import: :mod:`simulator.kernel` only. Beam's components and the world are configured
from these models; checks that need a policy's behaviour (the retention horizon against
the retry policy's longest span) run where the world is built (:mod:`simulator.loading`).
"""
