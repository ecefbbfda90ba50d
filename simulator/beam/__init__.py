"""Beam's reference system (beam-model.md), component by component, on virtual time.

The directory: its intent relay (:mod:`~simulator.beam.intentrelay`, with frames and rows
in :mod:`~simulator.beam.relay`), the process that stops and boots again with recovery
(:mod:`~simulator.beam.directory`), and the relay's security layers in Beam's order
(:mod:`~simulator.beam.security`): rate limits (:mod:`~simulator.beam.ratelimit`), trust
(:mod:`~simulator.beam.trust`), Shield (:mod:`~simulator.beam.shield`), the ACL
(:mod:`~simulator.beam.acl`), the catalog (:mod:`~simulator.beam.catalog`) and the audit
log (:mod:`~simulator.beam.audit`); the message bus (:mod:`~simulator.beam.bus`, with its
rows and attempts in :mod:`~simulator.beam.busrows`, one delivery attempt through the
directory in :mod:`~simulator.beam.busattempt`) and its retry policies
(:mod:`~simulator.beam.retry`); agents (:mod:`~simulator.beam.agents`) and Toxiproxy-style
links (:mod:`~simulator.beam.links`).

May import: :mod:`simulator.kernel` and :mod:`simulator.scenario` (components are
configured from the scenario's models). The operator surfaces observe the directory
through :class:`~simulator.beam.relay.DirectoryObserver`, which this layer owns.
"""
