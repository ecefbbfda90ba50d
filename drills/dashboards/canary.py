"""The canary dashboard: a rollout's baseline and canary cohorts side by side (latency and
error rate per analysis interval), the exposure, the judge's score and decision per
interval, and the rollback's decision and completion. It reads the ``beamdrill_canary_*``
series ``beamdrill canary`` adds to its ``metrics.om`` (:mod:`drills.canary.telemetry`)."""

from __future__ import annotations

from drills.dashboards.panels import DashboardSpec, PanelSpec, Query, or_zero

SPEC = DashboardSpec(
    uid="beamdrill-canary",
    title="beamdrill / Canary rollout",
    description="A canary rollout: baseline against canary per analysis interval, the exposure, the judge's "
                "score and decision, and the rollback.",
    panels=(
        PanelSpec("Median latency by cohort", "Each cohort's median delivery latency in the analysis interval "
                  "ending at the point.",
                  (Query("beamdrill_canary_latency_median_ms", "{{cohort}}"),), unit="ms"),
        PanelSpec("p99 latency by cohort", "Each cohort's p99 delivery latency in the analysis interval ending at "
                  "the point.",
                  (Query("beamdrill_canary_latency_p99_ms", "{{cohort}}"),), unit="ms"),
        PanelSpec("Error rate by cohort", "Percentage of each cohort's intents that failed in the interval.",
                  (Query("beamdrill_canary_error_rate_pct", "{{cohort}}"),), unit="percent"),
        PanelSpec("Intents settled by cohort", "Intents each cohort settled in the interval.",
                  (Query("beamdrill_canary_settled_intents", "{{cohort}}"),)),
        PanelSpec("Exposure", "Percentage of the changed agent's traffic the change answered (0 while shadowing "
                  "and after a rollback).",
                  (Query("beamdrill_canary_exposure_pct", "exposure"),), unit="percent"),
        PanelSpec("Judge score", "The judge's score (0-100) for each interval, by rollout step.",
                  (Query("beamdrill_canary_judge_score", "step {{step}}"),)),
        PanelSpec("Decision per interval", "The judge's decision for each interval: Successful promotes, "
                  "Inconclusive pauses, Failed rolls back.",
                  (Query("max by (decision) (beamdrill_canary_decision)", "{{decision}}"),), kind="state-timeline"),
        PanelSpec("Rollback", "1 when the rollback was decided and when the old version was back (0: no rollback).",
                  (Query(or_zero("max by (phase) (beamdrill_canary_rollback)"), "{{phase}}"),)),
    ),
    needs=("beamdrill_canary_exposure_pct",),
)
