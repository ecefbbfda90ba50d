"""A drill's proof pack: the report (:mod:`~drills.proofpack.report`), its chart
(:mod:`~drills.proofpack.chart`, drawing what :mod:`~drills.proofpack.samples`,
:mod:`~drills.proofpack.faultlog`, :mod:`~drills.proofpack.alertspans` and
:mod:`~drills.proofpack.panels` compute), and the redaction every text file passes
through (:mod:`~drills.proofpack.redact`)."""
