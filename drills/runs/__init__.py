"""Result directories: running a world and writing its files (:mod:`~drills.runs.runner`)
atomically (:mod:`~drills.runs.files`), and reading them back for the operator views
(:mod:`~drills.runs.operatorview`) and the trace view (:mod:`~drills.runs.traceview`)."""
