"""The recovery dashboard: restarts, whether the directory and the bus are up, the backlog a
restart or a restore leaves and how it drains, backups and restores, the time to recover,
and what a restore from a backup taken every N minutes would lose compared with Beam's
write-ahead log, which loses nothing."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as gdash
from grafana_foundation_sdk.models import dashboard as model

from drills.dashboards.panels import DashboardSpec, PanelSpec, Query, or_zero

#: The backup intervals the ``backup_every`` variable offers, the default first.
BACKUP_INTERVALS = ("15m", "5m", "1h", "6h", "24h")


def backup_every_variable() -> gdash.CustomVariable:
    """``backup_every``: the interval of the backups a restore would go back to."""
    return (gdash.CustomVariable("backup_every").label("backup every").values(",".join(BACKUP_INTERVALS))
            .current(model.VariableOption(selected=True, text=BACKUP_INTERVALS[0], value=BACKUP_INTERVALS[0])))


SPEC = DashboardSpec(
    uid="beamdrill-recovery",
    title="beamdrill / Recovery",
    description="Restarts of the bus and the directory, their downtime, the backlog and its drain, backups and "
                "restores, the time to recover, and what a restore from periodic backups would lose.",
    panels=(
        PanelSpec("Restarts", "Component restarts (running totals, per component).",
                  (Query("sum by (component) (beamdrill_restarts_total)", "{{component}}"),)),
        PanelSpec("Directory up", "1 while the directory process runs, 0 while it is down; the bus likewise (its "
                  "series exists once a world backs up or loses its stores; before that the bus is up).",
                  (Query("beamdrill_directory_up", "up"), Query("beamdrill_bus_up or on() vector(1)", "bus up")),
                  kind="state-timeline"),
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
        PanelSpec("Backups and restores", "Backups of both stores taken and restores completed (running totals): "
                  "each step of the restores line is a restore marker.",
                  (Query(or_zero("sum(beamdrill_backups_total)"), "backups"),
                   Query(or_zero("sum(beamdrill_restores_total)"), "restores"))),
        PanelSpec("Intents lost in restore", "Intents restores dropped, per path (running totals): admitted after "
                  "the backup restored. A bus intent has a directory row too.",
                  (Query(or_zero("sum by (path) (beamdrill_intents_lost_in_restore_total)"), "{{path}}"),)),
        PanelSpec("Time to recover", "The latest restore's recovery time (RTO: from the disaster to the first "
                  "intent served again; 0 before any restore served), and the newest backup's age.",
                  (Query(or_zero("beamdrill_restore_recovery_seconds"), "time to recover"),
                   Query(or_zero("beamdrill_backup_age_seconds"), "backup age")), unit="s"),
        PanelSpec("What a restore would lose: backups every $backup_every vs the write-ahead log",
                  "Intents admitted in the last $backup_every, per path: what a restore from a backup taken every "
                  "$backup_every loses at most (a disaster just before the next backup); the intents a restore "
                  "from the newest backup would drop now; Beam's SQLite write-ahead log loses none.",
                  (Query("sum by (path) (increase(beamdrill_intents_accepted_total[$backup_every]))",
                         "{{path}}: backup every $backup_every, at most"),
                   Query(or_zero("sum by (path) (beamdrill_backup_exposure_intents)"),
                         "{{path}}: since the newest backup"),
                   Query("vector(0)", "write-ahead log"))),
    ),
    variables=(backup_every_variable(),),
)
