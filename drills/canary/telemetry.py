"""The rollout's telemetry beside a run's own files: the cohort series added to
``metrics.om`` (a ``cohort`` label: ``baseline`` or ``canary``) and a ``beamdrill.cohort``
attribute on every span of ``traces.otlp.jsonl`` (``canary`` for intents the new version
answered, ``shadowed`` for those a shadow mirrored, ``baseline`` for the rest)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Final

from drills.canary.result import IntervalVerdict, RollbackReport
from simulator.telemetry.metrics import PREFIX
from simulator.telemetry.openmetrics import Family, family_text

COHORT_INTENTS: Final = Family(f"{PREFIX}canary_settled_intents", "gauge",
                               "Intents the cohort settled in the analysis interval ending here", "")
COHORT_ERRORS: Final = Family(f"{PREFIX}canary_error_rate_pct", "gauge",
                              "Percentage of the cohort's intents that failed in the interval", "")
COHORT_LATENCY: Final = Family(f"{PREFIX}canary_latency_median_ms", "gauge",
                               "The cohort's median delivery latency in the interval, in milliseconds", "")
COHORT_P99: Final = Family(f"{PREFIX}canary_latency_p99_ms", "gauge",
                           "The cohort's p99 delivery latency in the interval, in milliseconds", "")
COHORT_REFUSED: Final = Family(f"{PREFIX}canary_refused_sends", "gauge",
                               "Sends to the changed agent a rate limiter refused in the interval, per cohort", "")
EXPOSURE: Final = Family(f"{PREFIX}canary_exposure_pct", "gauge",
                         "Percentage of the changed agent's traffic exposed to the change", "")
SCORE: Final = Family(f"{PREFIX}canary_judge_score", "gauge", "The judge's score for the interval (0-100)", "")
DECISION: Final = Family(f"{PREFIX}canary_decision", "gauge",
                         "1 for the decision of the interval ending here (Successful, Failed, Inconclusive)", "")
ROLLBACK: Final = Family(f"{PREFIX}canary_rollback", "gauge",
                         "1 when the rollback was decided and when it completed (the phase label says which)", "")


def cohort_series(intervals: list[IntervalVerdict], epoch_s: float, rollback: RollbackReport | None = None) -> str:
    """The cohort families as OpenMetrics text, one sample per interval at its end, and the
    rollback's decision and completion when the rollout rolled back."""

    text = ""
    for family, field in ((COHORT_INTENTS, "intents"), (COHORT_ERRORS, "error_rate_pct"),
                          (COHORT_LATENCY, "latency_median_ms"), (COHORT_P99, "latency_p99_ms"),
                          (COHORT_REFUSED, "refused_sends")):
        points = []
        for verdict in intervals:
            for cohort in ("baseline", "canary"):
                value = getattr(getattr(verdict, cohort), field)
                if value is not None:
                    points.append(((("cohort", cohort),), verdict.end, float(value)))
        if points:
            text += family_text(family, points, epoch_s)
    if intervals:
        text += family_text(EXPOSURE, [((), verdict.end, verdict.exposure_pct if verdict.action != "shadow" else 0.0)
                                       for verdict in intervals], epoch_s)
        text += family_text(SCORE, [((("step", str(verdict.step)),), verdict.end, verdict.judge.score)
                                    for verdict in intervals], epoch_s)
        text += family_text(DECISION, [((("decision", verdict.decision), ("step", str(verdict.step))), verdict.end,
                                        1.0) for verdict in intervals], epoch_s)
    if rollback is not None and rollback.happened:
        marks = [((("phase", phase),), at, 1.0) for phase, at in (("decided", rollback.decided_at),
                                                                   ("completed", rollback.completed_at))
                 if at is not None]
        text += family_text(ROLLBACK, marks, epoch_s)
    return text


def label_traces(path: Path, trace_ids: dict[str, str]) -> int:
    """Add ``beamdrill.cohort`` to every span of ``path`` (OTLP JSON Lines), from its
    trace id (``trace_ids``: trace id → cohort; others are ``baseline``). Return the
    number of spans labelled other than baseline."""
    if not path.is_file():
        return 0
    labelled = 0
    temporary = path.with_name(f".{path.name}.tmp")
    with path.open(encoding="utf-8") as source, temporary.open("w", encoding="utf-8") as target:
        for line in source:
            document = json.loads(line)
            for resource in document.get("resourceSpans", []):
                for scope in resource.get("scopeSpans", []):
                    for span in scope.get("spans", []):
                        cohort = trace_ids.get(span.get("traceId", ""), "baseline")
                        labelled += cohort != "baseline"
                        span.setdefault("attributes", []).append(
                            {"key": "beamdrill.cohort", "value": {"stringValue": cohort}})
            target.write(json.dumps(document, separators=(",", ":")) + "\n")
    os.replace(temporary, path)
    return labelled
