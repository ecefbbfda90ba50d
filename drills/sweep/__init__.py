"""Sweeps: many worlds over a factorial grid of scenario overrides and replications.

A sweep file (:mod:`~drills.sweep.model`) names a scenario, a drill or a canary rollout
(:mod:`~drills.sweep.rollouts`), the grid, the replications and the measures. :mod:`~drills.sweep.grid` expands it into cells, each a
fully resolved scenario; :mod:`~drills.sweep.cell` runs one cell for one replication (the
same function on every executor, :mod:`~drills.sweep.executors`);
:mod:`~drills.sweep.measures` and :mod:`~drills.sweep.recovery` say what a run measured;
:mod:`~drills.sweep.checkpoint` keeps every finished run on disk;
:mod:`~drills.sweep.stats` gives means, confidence intervals and paired differences;
:mod:`~drills.sweep.report` and :mod:`~drills.sweep.charts` write the output directory;
:mod:`~drills.sweep.run` ties them together.
"""
