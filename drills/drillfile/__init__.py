"""Drill files: the schema (:mod:`~drills.drillfile.schema`, with probe specs in
:mod:`~drills.drillfile.probes` and step specs in :mod:`~drills.drillfile.steps`), the
loader that resolves a drill's scenario and reports every problem as one line
(:mod:`~drills.drillfile.loader`), and the built-in catalog
(:mod:`~drills.drillfile.builtin`)."""
