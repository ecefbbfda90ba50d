"""The readiness gate: a rollout checklist policy checked against evidence (run, drill-run
and canary result directories), every blocker with its reason, evidence file, owner and
next action. :func:`evaluate_gate` is what ``beamdrill gate`` runs."""

from drills.gate.checks import Blocker
from drills.gate.evidence import EvidenceError
from drills.gate.policy import GatePolicy, PolicyError, load_policy
from drills.gate.report import CheckOutcome, GateReport, evaluate_gate, markdown

__all__ = ["Blocker", "CheckOutcome", "EvidenceError", "GatePolicy", "GateReport", "PolicyError", "evaluate_gate",
           "load_policy", "markdown"]
