"""``beamdrill bench``: the world's performance cases, each a figure or a ratio measured in
one process in interleaved rounds, beside the bound the performance issue wants.

:mod:`~drills.benchmark.rounds` runs the rounds; the cases are
:mod:`~drills.benchmark.partnerday` (partner-day against the bare-SimPy reference, peak
memory), :mod:`~drills.benchmark.linearity` (the per-intent cost from 10,000 to a million
intents), :mod:`~drills.benchmark.scaling` (per-intent cost from 10 to 10,000 agents)
and :mod:`~drills.benchmark.loading` (loading and building a 10,000-agent scenario);
:mod:`~drills.benchmark.table` is the table they fill and how a figure is judged.
"""
