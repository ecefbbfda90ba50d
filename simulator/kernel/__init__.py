"""The simulation kernel: what every model layer stands on and nothing Beam-specific.

Virtual-time units and parsing (:mod:`~simulator.kernel.units`), named random streams
(:mod:`~simulator.kernel.rng`), events and their subscribers
(:mod:`~simulator.kernel.events`), the lifecycle guard and ledgers
(:mod:`~simulator.kernel.lifecycle`), row retention (:mod:`~simulator.kernel.retention`),
percentiles as JavaScript computes them (:mod:`~simulator.kernel.percentile`), the world's
SimPy environment and its compiled event loop (:mod:`~simulator.kernel.environment`,
:mod:`~simulator.kernel.eventloop`), compiled random draws (:mod:`~simulator.kernel.draws`), input
problems and safe YAML reading (:mod:`~simulator.kernel.problems`), the strict schema base
and common field types (:mod:`~simulator.kernel.fields`) and the garbage-collector
settings of long runs (:mod:`~simulator.kernel.gctune`).

May import: the standard library, SimPy and pydantic; nothing else in :mod:`simulator`.
"""
