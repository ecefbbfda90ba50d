"""Prometheus metrics of a world, read at scrape time (the scraper on virtual time that keeps
them for backfill is :mod:`~simulator.telemetry.recorder`).

Names follow Prometheus conventions: one prefix (``beamdrill_``), base units in names
(``_seconds``), counters ending in ``_total``, and only bounded label values (path, state,
outcome, decision, layer, error code, component, alert id, severity, inbox status: never a
nonce or message id).

``beamdrill_alerts_firing{alert_id, severity}`` is 1 for each alert firing as of the alert
engine's last evaluation. Once an (alert id, severity) pair has fired its series stays,
at 0 while that alert is not firing at that severity: the backfilled file has no staleness
markers, so a series that just stopped would look firing to Prometheus for its lookback
window. Alert ids are bounded by the six rules (one hotspot id per error code).

How the registry is fed
-----------------------
The world already keeps exact running counters for everything its summary reports
(``Ledger.accepted``/``counts``, ``Bus.retries``/``dead_letters_total``/``requeues``,
``Shield.recorded``, ``Security.rate_limited``, ...) and the operator surfaces keep their
state (``AlertEngine.severities`` as of its last evaluation, the inbox's items).
:class:`WorldCollector` is a custom Prometheus collector that reads them when scraped, so
the hot path pays nothing for counters and gauges and the values are the summary's own
numbers by construction. The one thing no counter holds, the delivery latency
distribution, comes from a single hook in ``Directory._finish``
(:attr:`Directory.on_result_latency`) feeding
:class:`~simulator.telemetry.histogram.LatencyHistogram`, a bucket found and two additions
per settled intent.

The alternative the issue proposed, a sink fed by the event stream, was measured on ``partner-day`` (seed 1,
in-process, 7 interleaved rounds, medians, a shared 2-core machine with about 5% noise);
wall time of two 3-hour windows of one run, as a ratio to the same window untraced:

=================================================  ===================  ====================
run                                                0h-3h (18k intents)  8h-11h (211k intents)
=================================================  ===================  ====================
untraced                                           0.28 s = 1.00        3.43 s = 1.00
collector + latency hook + 15 s virtual scrapes    1.03                 1.04
latency hook only (no scrapes)                     0.98                 1.05
event stream on, a sink doing nothing              1.91                 1.74
event sink feeding prometheus-client metrics       3.14                 3.09
=================================================  ===================  ====================

Turning the event stream on alone (building about ten events per intent) exceeds the 1.2x
budget before any metric is touched, so events feed traces and checks, and metrics read
counters. A scrape costs about 18 us: :meth:`WorldCollector.snapshot` reads the counters
into a flat list whose :class:`Layout` stays the same object until a new series appears,
and the recorder appends it straight into the store; any other registry is scraped
through the generic ``registry.collect()`` path (about 140 us, same file byte for byte).
The event-sink variants of the measurement were a throwaway script, not shipped; the
exactness checks against the run's :class:`~simulator.world.Summary` and a real
Prometheus are in ``tests/test_telemetry_metrics.py``.
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, Any, Callable, Final, Iterator, Mapping, cast

from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector, CollectorRegistry

from simulator.beam.breaker import STATES as BREAKER_STATES
from simulator.kernel.units import to_ms
from simulator.operator.alertrules import stale_peers
from simulator.operator.inbox import STATUSES
from simulator.kernel.lifecycle import BUCKETS, STATES
from simulator.telemetry.histogram import LatencyHistogram
from simulator.telemetry.openmetrics import Family, Layout, SeriesKey

if TYPE_CHECKING:
    from simulator.operator.alerts import AlertEngine
    from simulator.beam.directory import Directory
    from simulator.operator.inbox import Inbox
    from simulator.operator.observations import Observations
    from simulator.kernel.lifecycle import Ledger
    from simulator.world import World

PREFIX: Final[str] = "beamdrill_"
#: The rate-limit layers, in the order a frame meets them.
RATE_LIMIT_LAYERS: Final[tuple[str, ...]] = ("bus", "public_ip", "public_sender", "trust_gate_pair", "relay_sender")


def latency_histogram(directory: Directory) -> LatencyHistogram:
    """Return the histogram fed by ``directory``'s result-latency hook, installing one if
    none is installed yet. Observations start when it is installed: do it before running."""
    hook = directory.on_result_latency
    owner = getattr(hook, "__self__", None)
    if isinstance(owner, LatencyHistogram):
        return owner
    if hook is not None:
        raise ValueError("the directory's on_result_latency hook is already taken by something else")
    histogram = LatencyHistogram()
    directory.on_result_latency = histogram.observe
    return histogram


def _family(name: str, type: str, help: str, unit: str = "") -> Family:
    return Family(PREFIX + name, type, help, unit)


INTENTS: Final = _family("intents", "gauge", "Intents in each lifecycle state now, per path.")
OUTCOMES: Final = _family("intent_outcomes", "gauge",
                          "Intents in each outcome bucket now (success, error, in_flight), per path.")
ACCEPTED: Final = _family("intents_accepted", "counter", "Intents the path admitted into its lifecycle.")
ATTEMPTS: Final = _family("bus_attempts", "counter", "Bus delivery attempts started (first sends, retries, requeues).")
RETRIES: Final = _family("bus_retries", "counter", "Bus retry attempts made by the retry worker.")
QUEUED: Final = _family("bus_queued_messages", "gauge", "Bus messages queued for a retry now (queue depth).")
DEAD_NOW: Final = _family("bus_dead_letter_messages", "gauge", "Bus messages in dead_letter now.")
DEAD_TOTAL: Final = _family("bus_dead_letters", "counter", "Bus messages moved to dead_letter, requeued or not.")
REQUEUES: Final = _family("bus_requeues", "counter", "Dead-lettered or failed bus messages requeued.")
SHIELD: Final = _family("shield_decisions", "counter", "Shield decisions recorded, by decision.")
RATE_LIMITED: Final = _family("rate_limit_rejections", "counter", "Sends refused by a rate limit, by layer.")
FAILURES: Final = _family("directory_failures", "counter", "Directory intents finalised as failed, by error code.")
RESTARTS: Final = _family("restarts", "counter", "Component restarts.")
DIRECTORY_UP: Final = _family("directory_up", "gauge", "1 while the directory process runs, 0 while it is down.")
AGENTS: Final = _family("agents_connected", "gauge", "Agents with an open WebSocket now.")
ALERTS_FIRING: Final = _family("alerts_firing", "gauge", "1 for each alert firing (at this severity) as of the "
                               "alert engine's last evaluation; 0 for a pair that fired before.")
INBOX: Final = _family("inbox_items", "gauge", "Operator inbox items in each status now.")
WINDOW_INTENTS: Final = _family("alert_window_intents", "gauge", "Finished directory intents requested inside the "
                                "alert window (24 h), by outcome (success, error), as of the alert engine's last "
                                "evaluation.")
WINDOW_P95: Final = _family("alert_window_latency_p95_seconds", "gauge", "Nearest-rank p95 latency (requested to "
                            "finished) of the alert window's intents, as of the alert engine's last evaluation; "
                            "absent while none has a latency.", "seconds")
BACKLOG: Final = _family("in_flight_older_than_15m", "gauge", "Directory intents in flight requested more than 15 "
                         "minutes ago (any age), as of the alert engine's last evaluation.")
WINDOW_SHIELD: Final = _family("alert_window_shield_flagged", "gauge", "Shield holds and rejects created inside "
                               "the alert window, by decision, as of the alert engine's last evaluation.")
WINDOW_CODES: Final = _family("alert_window_error_codes", "gauge", "Failed directory intents requested inside the "
                              "alert window, by error code (UNKNOWN for none), as of the alert engine's last "
                              "evaluation; 0 for a code seen before.")
STALE_PEERS: Final = _family("federation_stale_peers", "gauge", "Federation peers that are stale, missing a "
                             "heartbeat or not active.")
LATENCY: Final = _family("delivery_latency_seconds", "histogram", "Directory delivery latency: from delivered to "
                         "the agent's result, for intents an agent's answer settled.", "seconds")
BUDGET_REFUSALS: Final = _family("bus_retry_budget_refusals", "counter",
                                  "Bus retries a pair's retry budget refused (each dead-lettered its row).")
BREAKER_REJECTIONS: Final = _family("bus_breaker_rejections", "counter",
                                    "Bus attempts a pair's circuit breaker failed fast without calling the directory.")
BREAKER_TRANSITIONS: Final = _family("bus_breaker_transitions", "counter",
                                     "Circuit breaker state changes of the bus's pairs, by the state moved to.")
BREAKERS: Final = _family("bus_circuit_breakers", "gauge", "The bus's per-pair circuit breakers in each state now.")
CLIENT_ATTEMPTS: Final = _family("client_attempts", "counter",
                                  "Attempts of senders' retrying clients (HTTP and WebSocket sends), first ones included.")
CLIENT_RETRIES: Final = _family("client_retries", "counter", "Retries senders' clients scheduled.")
CLIENT_TIMEOUTS: Final = _family("client_timeouts", "counter",
                                 "Client attempts given up on at the client's timeout (the work is not cancelled).")
CLIENT_GAVE_UP: Final = _family("client_gave_up", "counter",
                                "Client sends that ended without success, by why the client stopped.")
CLIENT_BUDGET_REFUSALS: Final = _family("client_retry_budget_refusals", "counter",
                                        "Client retries a pair's retry budget refused (each ended its send).")
CLIENT_BREAKER_REJECTIONS: Final = _family("client_breaker_rejections", "counter",
                                           "Client attempts a pair's circuit breaker failed fast.")
#: The families of client retries, exposed only while a scenario turns them on.
CLIENT_FAMILIES: Final[tuple[Family, ...]] = (CLIENT_ATTEMPTS, CLIENT_RETRIES, CLIENT_TIMEOUTS, CLIENT_GAVE_UP,
                                              CLIENT_BUDGET_REFUSALS, CLIENT_BREAKER_REJECTIONS)
#: Why a client send ends without success (``client_gave_up``'s ``reason``).
GAVE_UP_REASONS: Final[tuple[str, ...]] = ("not_retryable", "retries_exhausted", "retry_budget")
BACKUPS: Final = _family("backups", "counter", "Backups of the bus and directory stores taken (scheduled or on demand).")
RESTORES: Final = _family("restores", "counter", "Restores of both stores from a backup that completed.")
LOST_IN_RESTORE: Final = _family("intents_lost_in_restore", "counter", "Intents restores dropped, per path: admitted "
                                 "after the backup restored (a bus intent has a directory row too).")
BACKUP_AGE: Final = _family("backup_age_seconds", "gauge", "Seconds since the newest backup was taken; absent "
                            "before the first.", "seconds")
BACKUP_EXPOSURE: Final = _family("backup_exposure_intents", "gauge", "Intents a restore from the newest backup would "
                                 "drop now, per path (admitted since it was taken); Beam's write-ahead log loses "
                                 "none. Absent before the first backup.")
BUS_UP: Final = _family("bus_up", "gauge", "1 while the bus process runs, 0 while it is down (its store destroyed).")
RECOVERY_SECONDS: Final = _family("restore_recovery_seconds", "gauge", "The latest restore's recovery time: from "
                                  "the disaster (or the restore's start) to the first intent served again; absent "
                                  "until then.", "seconds")
#: The families of backups and restores, exposed only once a world schedules or takes a
#: backup or has a disaster.
RECOVERY_FAMILIES: Final[tuple[Family, ...]] = (BACKUPS, RESTORES, LOST_IN_RESTORE, BACKUP_AGE, BACKUP_EXPOSURE,
                                                BUS_UP, RECOVERY_SECONDS)
SLO_INTENTS: Final = _family("slo_intents", "counter", "Finished directory intents (acked or failed) an objective "
                             "counts, per SLO.")
SLO_BAD: Final = _family("slo_bad_intents", "counter", "Finished directory intents against an objective, per SLO: "
                         "failed, or (latency objectives) slower than its threshold from admission.")
#: The families of the scenario's service-level objectives, exposed only when it declares some.
SLO_FAMILIES: Final[tuple[Family, ...]] = (SLO_INTENTS, SLO_BAD)
#: Every family, in exposition order.
FAMILIES: Final[tuple[Family, ...]] = (INTENTS, OUTCOMES, ACCEPTED, ATTEMPTS, RETRIES, QUEUED, DEAD_NOW, DEAD_TOTAL,
                                       REQUEUES, SHIELD, RATE_LIMITED, FAILURES, RESTARTS, DIRECTORY_UP, AGENTS,
                                       ALERTS_FIRING, INBOX, WINDOW_INTENTS, WINDOW_P95, BACKLOG, WINDOW_SHIELD,
                                       WINDOW_CODES, STALE_PEERS, LATENCY)
#: The families of the bus's retry budget and circuit breakers, exposed only while a
#: scenario turns them on.
GUARD_FAMILIES: Final[tuple[Family, ...]] = (BUDGET_REFUSALS, BREAKER_REJECTIONS, BREAKER_TRANSITIONS, BREAKERS)

#: Reads one series' current value.
Getter = Callable[[], float]


def _entry(mapping: Mapping[str, int], key: str) -> Getter:
    return cast(Getter, functools.partial(mapping.get, key, 0))  # ~100 series a scrape: no Python frame each


def _buckets(ledger: Ledger) -> Callable[[str], Getter]:
    """Getters of a ledger's outcome buckets that add its states up once per scrape (on
    the first bucket's read), not once per bucket."""
    totals: dict[str, int] = {}

    def getter(name: str) -> Getter:
        if name == BUCKETS[0]:
            def first() -> int:
                totals.update(ledger.buckets())
                return totals[name]
            return first
        return lambda: totals[name]
    return getter


def _attribute(owner: object, name: str) -> Getter:
    return cast(Getter, functools.partial(getattr, owner, name))


def _lost(ledger: Ledger) -> Getter:
    return lambda: len(ledger.lost_in_restore)


def _firing(alerts: AlertEngine, alert_id: str, severity: str) -> Getter:
    return lambda: 1 if alerts.severities.get(alert_id) == severity else 0


def _inbox_count(inbox: Inbox, status: str) -> Getter:
    return lambda: inbox.count(status)


def _summed(owners: list[Any], mapping: str, key: str) -> Getter:
    return lambda: sum(getattr(owner, mapping).get(key, 0) for owner in owners)


def _breakers_in(breakers: Mapping[Any, Any], state: str) -> Getter:
    return lambda: sum(1 for breaker in breakers.values() if breaker.state == state)


def _p95_seconds(observations: Observations) -> Getter:
    def p95() -> float:
        milliseconds = observations.latencies.percentile(0.95)
        return math.nan if milliseconds is None else milliseconds / 1000
    return p95


def _flagged(observations: Observations, index: int) -> Getter:
    return lambda: observations.shield_counts[index]


def _stale_peers(world: World) -> Getter:
    return lambda: stale_peers(world.alerts.peers, to_ms(world.env.now))


def _backup_age(world: World) -> Getter:
    def age() -> float:
        backups = world.recovery.backups
        return world.env.now - backups[-1].taken_at if backups else math.nan
    return age


def _exposure(world: World, ledger: Ledger) -> Getter:
    """What a restore from the newest backup would drop from ``ledger`` now."""
    def exposure() -> float:
        backups = world.recovery.backups
        if not backups:
            return math.nan
        saved = (backups[-1].directory if ledger.path == "directory" else backups[-1].bus).ledger
        return ledger.accepted - saved.accepted + len(saved.lost) - len(ledger.lost_in_restore)
    return exposure


def _recovery_seconds(world: World) -> Getter:
    def seconds() -> float:
        report = world.recovery.report()
        served = [restore.rto_seconds for restore in report.restores if restore.rto_seconds is not None] if report else []
        return served[-1] if served else math.nan
    return seconds


class WorldCollector(Collector):
    """Reads a world's running counters at scrape time: a custom Prometheus collector.

    :meth:`snapshot` gives one scrape as a :class:`Layout` and a flat list of values (what
    :class:`~simulator.telemetry.recorder.MetricsRecorder` stores); :meth:`collect` turns
    the same snapshot into metric families for any Prometheus consumer, so both always agree.
    """

    def __init__(self, world: World, histogram: LatencyHistogram) -> None:
        self.world = world
        self.histogram = histogram
        self._codes = -1
        #: Every error-code label seen in the alert window, in the order first seen.
        self._window_codes: dict[str, None] = {}
        #: Every (alert id, severity) pair seen firing at a scrape, in the order first seen.
        self._alert_pairs: dict[tuple[str, str], None] = {}
        self._layout = Layout((), ())
        self._getters: list[Getter] = []
        self._recovery = False

    def _build(self) -> None:
        """(Re)build the layout: once, and again whenever a new failure code or a new
        (alert id, severity) pair appears."""
        world = self.world
        directory, bus = world.directory, world.bus
        security = directory.security
        entries: list[tuple[SeriesKey, Getter]] = []

        def add(family: Family, get: Getter, **labels: str) -> None:
            name = family.name + "_total" if family.type == "counter" else family.name
            entries.append((SeriesKey(family, name, tuple(labels.items())), get))

        for ledger in (directory.ledger, bus.ledger):
            for state in STATES:
                add(INTENTS, _entry(ledger.counts, state), path=ledger.path, state=state)
            bucket_getter = _buckets(ledger)
            for name in BUCKETS:
                add(OUTCOMES, bucket_getter(name), path=ledger.path, outcome=name)
            add(ACCEPTED, _attribute(ledger, "accepted"), path=ledger.path)
        add(ATTEMPTS, _attribute(bus, "attempts"))
        add(RETRIES, _attribute(bus, "retries"))
        add(QUEUED, _entry(bus.ledger.counts, "queued"))
        add(DEAD_NOW, _entry(bus.ledger.counts, "dead_letter"))
        add(DEAD_TOTAL, _attribute(bus, "dead_letters_total"))
        add(REQUEUES, _attribute(bus, "requeues"))
        recorded = security.shield.recorded
        for decision in recorded:
            add(SHIELD, _entry(recorded, decision), decision=decision)
        limited = security.rate_limited
        layers: dict[str, Getter] = {
            "bus": _entry(bus.rejections_by_code, "RATE_LIMIT_EXCEEDED"),
            "public_ip": _entry(limited, "public_ip"),
            "public_sender": _entry(limited, "public_sender"),
            "trust_gate_pair": _entry(directory.rejections_by_code, "SHIELD_RATE_LIMITED"),
            "relay_sender": _entry(limited, "relay_sender"),
        }
        for layer in RATE_LIMIT_LAYERS:
            add(RATE_LIMITED, layers[layer], layer=layer)
        failures = directory.failures_by_code
        for code in sorted(failures):
            add(FAILURES, _entry(failures, code), code=code)
        add(RESTARTS, _attribute(bus, "restarts"), component="bus")
        add(RESTARTS, _attribute(directory, "restarts"), component="directory")
        add(DIRECTORY_UP, lambda: 1 if directory.up else 0)
        agents = list(world.agents.values())
        add(AGENTS, lambda: sum(1 for agent in agents if agent.connected))
        alerts = world.alerts
        for alert_id, severity in self._alert_pairs:
            add(ALERTS_FIRING, _firing(alerts, alert_id, severity), alert_id=alert_id, severity=severity)
        for status in STATUSES:
            add(INBOX, _inbox_count(world.inbox, status), status=status)
        families = FAMILIES
        observations = world.observations
        add(WINDOW_INTENTS, _attribute(observations, "successes"), outcome="success")
        add(WINDOW_INTENTS, _attribute(observations, "errors"), outcome="error")
        add(WINDOW_P95, _p95_seconds(observations))
        add(BACKLOG, observations.backlog_count)
        add(WINDOW_SHIELD, _flagged(observations, 0), decision="hold")
        add(WINDOW_SHIELD, _flagged(observations, 1), decision="reject")
        for code in self._window_codes:
            add(WINDOW_CODES, _entry(observations.codes, code), code=code)
        add(STALE_PEERS, _stale_peers(world))
        if bus.budgets is not None:
            add(BUDGET_REFUSALS, _attribute(bus, "budget_refusals"))
        if bus.breakers is not None:
            add(BREAKER_REJECTIONS, _attribute(bus, "breaker_rejections"))
            for state in BREAKER_STATES:
                add(BREAKER_TRANSITIONS, _entry(bus.breaker_transitions, state), to=state)
            for state in BREAKER_STATES:
                add(BREAKERS, _breakers_in(bus.breakers, state), state=state)
        if bus.budgets is not None or bus.breakers is not None:
            families += GUARD_FAMILIES
        clients = list(world.traffic.clients.values())
        if clients:
            add(CLIENT_ATTEMPTS, lambda: sum(client.attempts for client in clients))
            add(CLIENT_RETRIES, lambda: sum(client.retries for client in clients))
            add(CLIENT_TIMEOUTS, lambda: sum(client.timeouts for client in clients))
            for reason in GAVE_UP_REASONS:
                add(CLIENT_GAVE_UP, _summed(clients, "gave_up", reason), reason=reason)
            add(CLIENT_BUDGET_REFUSALS, lambda: sum(client.budget_refusals for client in clients))
            add(CLIENT_BREAKER_REJECTIONS, lambda: sum(client.breaker_rejections for client in clients))
            families += CLIENT_FAMILIES
        recovery = world.recovery
        self._recovery = recovery.active
        if recovery.active:
            add(BACKUPS, lambda: recovery.taken)
            add(RESTORES, lambda: sum(1 for record in recovery.restores if record.restored_at is not None))
            for ledger in (directory.ledger, bus.ledger):
                add(LOST_IN_RESTORE, _lost(ledger), path=ledger.path)
            add(BACKUP_AGE, _backup_age(world))
            for ledger in (directory.ledger, bus.ledger):
                add(BACKUP_EXPOSURE, _exposure(world, ledger), path=ledger.path)
            add(BUS_UP, lambda: 1 if bus.up else 0)
            add(RECOVERY_SECONDS, _recovery_seconds(world))
            families += RECOVERY_FAMILIES
        monitor = world.slo_monitor
        if monitor is not None:
            for slo in monitor.slos:
                add(SLO_INTENTS, lambda: monitor.finished_total, slo=slo.name)
            for slo in monitor.slos:
                add(SLO_BAD, _entry(monitor.bad_total, slo.name), slo=slo.name)
            families += SLO_FAMILIES
        histogram_series = [SeriesKey(LATENCY, LATENCY.name + "_bucket", (("le", le),)) for le in self.histogram.les]
        histogram_series += [SeriesKey(LATENCY, LATENCY.name + "_count", ()),
                             SeriesKey(LATENCY, LATENCY.name + "_sum", ())]
        self._codes = len(failures)
        self._getters = [get for _, get in entries]
        self._layout = Layout(families, (*(key for key, _ in entries), *histogram_series))

    def snapshot(self) -> tuple[Layout, list[float]]:
        """The current value of every series, in the order of the returned layout (the same
        layout object as last time unless a series appeared)."""
        severities, codes = self.world.alerts.severities, self.world.observations.codes
        new_pairs = not severities.items() <= self._alert_pairs.keys()
        new_codes = not codes.keys() <= self._window_codes.keys()
        if (new_pairs or new_codes or len(self.world.directory.failures_by_code) != self._codes
                or self.world.recovery.active != self._recovery):
            self._alert_pairs.update(dict.fromkeys(severities.items()))
            self._window_codes.update(dict.fromkeys(codes))
            self._build()
        values = [get() for get in self._getters]
        values += self.histogram.values()
        return self._layout, values

    def describe(self) -> list[Metric]:
        """The families this collector yields (the registry checks names with them)."""
        return list(self.collect())

    def collect(self) -> Iterator[Metric]:
        """Yield every metric family with its current values."""
        layout, values = self.snapshot()
        metrics = {family.name: Metric(family.name, family.help, family.type, family.unit)
                   for family in layout.families}
        for key, value in zip(layout.series, values):
            metrics[key.family.name].add_sample(key.name, dict(key.labels), value)
        return iter(metrics.values())


def world_registry(world: World) -> CollectorRegistry:
    """A registry holding ``world``'s metrics (installs the latency hook; build it before running)."""
    registry = CollectorRegistry()
    registry.register(WorldCollector(world, latency_histogram(world.directory)))
    return registry
