"""The retries and dead letters dashboard: the bus's retry queue, attempts, retries, dead
letters now and in total, and requeues."""

from __future__ import annotations

from drills.dashboards.panels import DashboardSpec, PanelSpec, Query

SPEC = DashboardSpec(
    uid="beamdrill-retries",
    title="beamdrill / Retries and dead letters",
    description="The bus's retry worker: queue depth, attempts, retries, dead letters and requeues.",
    panels=(
        PanelSpec("Retry queue depth", "Bus messages queued for a retry now.",
                  (Query("beamdrill_bus_queued_messages", "queued"),)),
        PanelSpec("Attempts and retries per second", "Delivery attempts started (first sends, retries, "
                  "requeues) and retry attempts of the worker.",
                  (Query("rate(beamdrill_bus_attempts_total[$__rate_interval])", "attempts"),
                   Query("rate(beamdrill_bus_retries_total[$__rate_interval])", "retries")), unit="reqps"),
        PanelSpec("Dead letters", "Messages in dead_letter now, and every message ever moved there.",
                  (Query("beamdrill_bus_dead_letter_messages", "now"),
                   Query("beamdrill_bus_dead_letters_total", "total"))),
        PanelSpec("Requeues", "Dead-lettered or failed messages requeued (running total).",
                  (Query("beamdrill_bus_requeues_total", "requeues"),)),
        PanelSpec("Bus intents by state", "Bus messages in each lifecycle state now.",
                  (Query('sum by (state) (beamdrill_intents{path="bus"})', "{{state}}"),), stacked=True),
        PanelSpec("Retries in the last 5 minutes", "Retry attempts over the past five minutes.",
                  (Query("increase(beamdrill_bus_retries_total[5m])", "retries"),), kind="stat"),
    ),
)
