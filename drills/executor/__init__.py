"""Running a drill on a world: the runner with steady state, method, guards and rollbacks
(:mod:`~drills.executor.execute`), what the drill knows besides the world
(:mod:`~drills.executor.context`), operator steps (:mod:`~drills.executor.actions`), what
probes see (:mod:`~drills.executor.observe`), the runbook's order rules
(:mod:`~drills.executor.orderrules`) and the journal and verdicts
(:mod:`~drills.executor.journal`). It drives the world only through the world's public
API (:mod:`simulator`)."""
