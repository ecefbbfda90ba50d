"""The policies dashboard: what the retry policies cost and how their guards acted. Retry
amplification (bus attempts per bus intent, client attempts per send), retry-budget
refusals and circuit-breaker fast-fails of the bus and of senders' clients, the bus's
breakers by state and their transitions, and why clients gave up. It reads the
``beamdrill_bus_retry_budget_*``, ``beamdrill_bus_breaker_*``,
``beamdrill_bus_circuit_breakers`` and ``beamdrill_client_*`` series a run exports only
when its scenario turns a retry budget, a circuit breaker or client retries on."""

from __future__ import annotations

from typing import Final

from drills.dashboards.panels import DashboardSpec, PanelSpec, Query

#: Bus delivery attempts per bus intent admitted (every attempt is one intent's), so far
#: and over the past minute.
BUS_SO_FAR: Final[str] = 'sum(beamdrill_bus_attempts_total) / sum(beamdrill_intents_accepted_total{path="bus"})'
BUS_LAST_MINUTE: Final[str] = ("sum(increase(beamdrill_bus_attempts_total[1m])) / "
                               'sum(increase(beamdrill_intents_accepted_total{path="bus"}[1m]))')
#: Client attempts per send (a send's first attempt is every attempt that is not a retry),
#: so far and over the past minute.
CLIENT_SO_FAR: Final[str] = ("sum(beamdrill_client_attempts_total) / "
                             "(sum(beamdrill_client_attempts_total) - sum(beamdrill_client_retries_total))")
CLIENT_LAST_MINUTE: Final[str] = ("sum(increase(beamdrill_client_attempts_total[1m])) / "
                                  "(sum(increase(beamdrill_client_attempts_total[1m])) - "
                                  "sum(increase(beamdrill_client_retries_total[1m])))")


SPEC = DashboardSpec(
    uid="beamdrill-policies",
    title="beamdrill / Policies",
    description="Retry policies and their guards: retry amplification, retry-budget refusals, circuit breaker "
                "states, transitions and fast-fails, client timeouts and give-ups.",
    panels=(
        PanelSpec("Retry amplification (since the start)", "Attempts per intent so far: bus delivery attempts per "
                  "bus intent admitted, and client attempts per send (attempts that are not retries). 1 means no "
                  "retries.",
                  (Query(BUS_SO_FAR, "bus attempts / intent"), Query(CLIENT_SO_FAR, "client attempts / send"))),
        PanelSpec("Retry amplification (last minute)", "Attempts per intent over the past minute: a retry storm "
                  "shows as a rise above 1 (no point while no intent was admitted in the minute).",
                  (Query(BUS_LAST_MINUTE, "bus attempts / intent"),
                   Query(CLIENT_LAST_MINUTE, "client attempts / send"))),
        PanelSpec("Retry-budget refusals per second", "Retries a pair's retry budget refused: each dead-lettered "
                  "its bus row, or ended its client send.",
                  (Query("rate(beamdrill_bus_retry_budget_refusals_total[$__rate_interval])", "bus"),
                   Query("rate(beamdrill_client_retry_budget_refusals_total[$__rate_interval])", "client")),
                  unit="reqps"),
        PanelSpec("Circuit breaker fast-fails per second", "Attempts a pair's open (or full half-open) breaker "
                  "failed fast without calling the directory.",
                  (Query("rate(beamdrill_bus_breaker_rejections_total[$__rate_interval])", "bus"),
                   Query("rate(beamdrill_client_breaker_rejections_total[$__rate_interval])", "client")),
                  unit="reqps"),
        PanelSpec("Bus circuit breakers by state", "The bus's per-pair circuit breakers in each state now.",
                  (Query("sum by (state) (beamdrill_bus_circuit_breakers)", "{{state}}"),), stacked=True),
        PanelSpec("Bus breaker transitions", "Bus circuit breaker state changes in the past minute, by the state "
                  "moved to.",
                  (Query("sum by (to) (increase(beamdrill_bus_breaker_transitions_total[1m]))", "to {{to}}"),)),
        PanelSpec("Client attempts, retries and timeouts per second", "Senders' retrying clients: attempts (first "
                  "ones included), retries scheduled, and attempts given up on at the client's timeout.",
                  (Query("rate(beamdrill_client_attempts_total[$__rate_interval])", "attempts"),
                   Query("rate(beamdrill_client_retries_total[$__rate_interval])", "retries"),
                   Query("rate(beamdrill_client_timeouts_total[$__rate_interval])", "timeouts")), unit="reqps"),
        PanelSpec("Client give-ups by reason", "Client sends that ended without success (running total), by why "
                  "the client stopped: not retryable, retries exhausted, or the retry budget.",
                  (Query("sum by (reason) (beamdrill_client_gave_up_total)", "{{reason}}"),)),
        PanelSpec("Budget refusals (total)", "Retries the retry budgets refused so far.",
                  (Query("sum(beamdrill_bus_retry_budget_refusals_total)", "bus"),
                   Query("sum(beamdrill_client_retry_budget_refusals_total)", "client")), kind="stat"),
        PanelSpec("Bus breaker openings (total)", "Times a bus circuit breaker opened so far.",
                  (Query('sum(beamdrill_bus_breaker_transitions_total{to="OPEN"})', "opened"),), kind="stat"),
    ),
    needs=("beamdrill_bus_retry_budget_refusals", "beamdrill_bus_circuit_breakers", "beamdrill_client_attempts"),
)
