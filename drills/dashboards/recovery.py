"""The recovery dashboard: restarts, whether the directory is up, and the backlog a restart
leaves and how it drains."""

from __future__ import annotations

from drills.dashboards.panels import DashboardSpec, PanelSpec, Query, or_zero

SPEC = DashboardSpec(
    uid="beamdrill-recovery",
    title="beamdrill / Recovery",
    description="Restarts of the bus and the directory, the directory's downtime, and the backlog and its drain.",
    panels=(
        PanelSpec("Restarts", "Component restarts (running totals, per component).",
                  (Query("sum by (component) (beamdrill_restarts_total)", "{{component}}"),)),
        PanelSpec("Directory up", "1 while the directory process runs, 0 while it is down.",
                  (Query("beamdrill_directory_up", "up"),), kind="state-timeline"),
        PanelSpec("Backlog: intents in flight", "Intents not yet finished, per path: what a restart leaves and "
                  "how it drains.", (Query('sum by (path) (beamdrill_intent_outcomes{outcome="in_flight"})',
                                           "{{path}}"),)),
        PanelSpec("Retry queue and old in-flight intents", "Bus messages queued for a retry, and directory "
                  "intents in flight for more than 15 minutes.",
                  (Query("beamdrill_bus_queued_messages", "bus queued"),
                   Query("beamdrill_in_flight_older_than_15m", "in flight > 15 min"))),
        PanelSpec("Failures by code", "Directory failures by code (running totals; a code's series starts at its "
                  "first failure, so a rate would miss that first step); a directory restart fails what it held "
                  "with DELIVERY_FAILED or TIMEOUT.",
                  (Query(or_zero("sum by (code) (beamdrill_directory_failures_total)"), "{{code}}"),)),
    ),
)
