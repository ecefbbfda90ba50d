"""Beam's operator surfaces (beam-model §9, §10): what Beam shows and lets its operators do.

The windowed fact store the alerts read (:mod:`~simulator.operator.factstore`, with
Shield's window in :mod:`~simulator.operator.shieldwindow`) and the reads over it
(:mod:`~simulator.operator.observations`), the six alert rules and the
engine that evaluates them (:mod:`~simulator.operator.alertrules`,
:mod:`~simulator.operator.alerts`), the inbox (:mod:`~simulator.operator.inbox`), partner
requests, their health and the digest (:mod:`~simulator.operator.partners`,
:mod:`~simulator.operator.partnerhealth`, :mod:`~simulator.operator.digest`), data exports
and the dead-letter page (:mod:`~simulator.operator.exports`,
:mod:`~simulator.operator.deadletters`, :mod:`~simulator.operator.intentview`), prune
(:mod:`~simulator.operator.prune`) and the API's roles and answers
(:mod:`~simulator.operator.api`).

May import: :mod:`simulator.kernel`, :mod:`simulator.scenario` and :mod:`simulator.beam`.
"""
