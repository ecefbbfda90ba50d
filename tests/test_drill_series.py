"""A drill's faults and operator steps as the ``beamdrill_drill_event`` series of its metrics.om."""

from __future__ import annotations

from drills.executor.drillseries import drill_event_text, drill_spans
from drills.proofpack.faultlog import FaultEntry


def test_a_fault_window_reads_1_while_it_lasts_and_a_step_for_a_minute() -> None:
    log = [FaultEntry(10.0, "fault_start", 0, "finance slow", False),
           FaultEntry(40.0, "fault_end", 0, "finance slow", False)]
    spans = drill_spans(log, [(35.0, "requeue")], end=100.0)
    assert spans == [("fault", "finance slow", 10.0, 40.0), ("step", "requeue", 35.0, 95.0)]
    text = drill_event_text(spans, end=100.0, interval=30.0, epoch_s=1000.0)
    fault = 'beamdrill_drill_event{kind="fault",name="finance slow"}'
    step = 'beamdrill_drill_event{kind="step",name="requeue"}'
    assert text.splitlines()[2:] == [
        f"{fault} 0 1000", f"{fault} 1 1010", f"{fault} 1 1030", f"{fault} 0 1040", f"{fault} 0 1060",
        f"{fault} 0 1090", f"{fault} 0 1100",
        f"{step} 0 1000", f"{step} 0 1030", f"{step} 1 1035", f"{step} 1 1060", f"{step} 1 1090",
        f"{step} 0 1095", f"{step} 0 1100"]
    assert text.startswith("# HELP beamdrill_drill_event ") and "\n# TYPE beamdrill_drill_event gauge\n" in text


def test_an_instant_fault_is_marked_for_a_minute_and_a_quiet_drill_writes_nothing() -> None:
    log = [FaultEntry(20.0, "fault_start", 1, "directory restart", True)]
    assert drill_spans(log, [], end=300.0) == [("fault", "directory restart", 20.0, 80.0)]
    assert drill_event_text([], end=300.0, interval=15.0, epoch_s=0.0) == ""
