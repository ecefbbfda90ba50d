"""A drill's proof pack: the report (:mod:`~drills.proofpack.report`), its chart
(:mod:`~drills.proofpack.chart`), and the redaction every text file passes through
(:mod:`~drills.proofpack.redact`)."""
