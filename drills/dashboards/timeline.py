"""The drill timeline dashboard: alerts firing by id, the operator inbox by status, and the
drill's faults and operator steps (also drawn as annotations on every dashboard)."""

from __future__ import annotations

from drills.dashboards.panels import DashboardSpec, PanelSpec, Query, or_zero

SPEC = DashboardSpec(
    uid="beamdrill-drill-timeline",
    title="beamdrill / Drill timeline",
    description="What a drill did and what the operator saw: alerts, inbox items, faults and steps.",
    panels=(
        PanelSpec("Alerts firing", "1 while the alert engine has the alert firing at that severity (0 when none "
                  "ever fired).", (Query(or_zero("max by (alert_id, severity) (beamdrill_alerts_firing)"),
                                         "{{alert_id}} ({{severity}})"),), kind="state-timeline", width=24),
        PanelSpec("Inbox items by status", "Operator inbox items in each status (new, acknowledged, acted).",
                  (Query("beamdrill_inbox_items", "{{status}}"),), stacked=True),
        PanelSpec("Faults and operator steps", "1 while a fault lasts, and for a minute from a restart or an "
                  "operator step.", (Query(or_zero("beamdrill_drill_event"), "{{kind}}: {{name}}"),),
                  kind="state-timeline"),
        PanelSpec("Error codes in the alert window", "Failed intents per error code in the 24 h window: the top "
                  "code at 5 is a hotspot, at 10 critical.",
                  (Query(or_zero("beamdrill_alert_window_error_codes"), "{{code}}"),)),
        PanelSpec("In flight for more than 15 minutes", "The backlog network-in-flight-backlog reads: 1 warns, 5 "
                  "are critical.", (Query("beamdrill_in_flight_older_than_15m", "backlog"),)),
    ),
)
