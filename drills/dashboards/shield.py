"""The Shield and rate limits dashboard: Shield decisions, rate-limit rejections by layer
and directory failures by error code."""

from __future__ import annotations

from drills.dashboards.panels import DashboardSpec, PanelSpec, Query, or_zero

SPEC = DashboardSpec(
    uid="beamdrill-shield",
    title="beamdrill / Shield and rate limits",
    description="Shield decisions and what shield-review-load counts, rate-limit rejections by layer, directory "
                "failures by error code.",
    panels=(
        PanelSpec("Shield decisions", "Shield decisions recorded, by decision (running totals: a decision's series "
                  "starts at its first use, so a rate would miss that first step).",
                  (Query(or_zero("sum by (decision) (beamdrill_shield_decisions_total)"), "{{decision}}"),)),
        PanelSpec("Shield holds and rejects in the alert window", "What shield-review-load reads: 3 rejects or 5 "
                  "holds warn, 5 rejects are critical.",
                  (Query("beamdrill_alert_window_shield_flagged", "{{decision}}"),)),
        PanelSpec("Rate-limit rejections by layer", "Sends refused by each rate-limit layer (running totals).",
                  (Query("sum by (layer) (beamdrill_rate_limit_rejections_total)", "{{layer}}"),)),
        PanelSpec("Directory failures by code", "Directory intents finalised as failed, by error code (running "
                  "totals; 0 while none failed).",
                  (Query(or_zero("sum by (code) (beamdrill_directory_failures_total)"), "{{code}}"),)),
    ),
)
