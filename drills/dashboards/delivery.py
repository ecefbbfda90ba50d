"""The delivery overview dashboard: intents by lifecycle state and path, outcome buckets,
admissions, and delivery latency quantiles from the histogram."""

from __future__ import annotations

from drills.dashboards.panels import DashboardSpec, PanelSpec, Query, label_variable

PATH = 'path=~"$path"'


def _quantile(q: float) -> Query:
    return Query(f"histogram_quantile({q}, sum by (le) (rate(beamdrill_delivery_latency_seconds_bucket"
                 f"[$__rate_interval])))", f"p{round(q * 100)}")


SPEC = DashboardSpec(
    uid="beamdrill-delivery",
    title="beamdrill / Delivery overview",
    description="Intents through the directory and the bus: lifecycle states, outcomes, admissions and latency.",
    variables=(label_variable("path", "path", "beamdrill_intents"),),
    panels=(
        PanelSpec("Intents by state", "Intents in each lifecycle state now, per path (directory, bus).",
                  (Query(f"sum by (path, state) (beamdrill_intents{{{PATH}}})", "{{path}} {{state}}"),)),
        PanelSpec("Outcome buckets", "Intents by outcome (success, error, in_flight), per path.",
                  (Query(f"sum by (path, outcome) (beamdrill_intent_outcomes{{{PATH}}})", "{{path}} {{outcome}}"),),
                  stacked=True),
        PanelSpec("Intents admitted per second", "How fast each path admits intents into its lifecycle.",
                  (Query(f"sum by (path) (rate(beamdrill_intents_accepted_total{{{PATH}}}[$__rate_interval]))",
                         "{{path}}"),), unit="reqps"),
        PanelSpec("Delivery latency quantiles", "Delivered to the agent's result, from the latency histogram "
                  "(quantiles interpolated within buckets).", (_quantile(0.5), _quantile(0.95), _quantile(0.99)),
                  unit="s"),
        PanelSpec("Alert window p95 latency", "Beam's own nearest-rank p95 (requested to finished) over the alert "
                  "window, as network-latency-p95 reads it: 2 s warns, 5 s is critical.",
                  (Query("beamdrill_alert_window_latency_p95_seconds", "p95"),), unit="s"),
        PanelSpec("Alert window outcomes", "Finished intents requested in the 24 h alert window, by outcome, and "
                  "the error ratio network-error-rate compares with 10% and 25%.",
                  (Query("sum by (outcome) (beamdrill_alert_window_intents)", "{{outcome}}"),)),
        PanelSpec("Agents connected", "Agents with an open WebSocket.",
                  (Query("beamdrill_agents_connected", "connected"),)),
    ),
)
