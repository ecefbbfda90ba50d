"""Telemetry sinks and exporters (DESIGN.md: exporters are sinks behind an interface).

Each module is one concept; import them directly:

- :mod:`simulator.telemetry.metrics`, :mod:`simulator.telemetry.histogram`,
  :mod:`simulator.telemetry.recorder`, :mod:`simulator.telemetry.openmetrics`: Prometheus
  metrics of a world, the latency histogram the directory feeds, the scraper on virtual
  time, and their timestamped OpenMetrics backfill file.
- :mod:`simulator.telemetry.sampling`: which intents' traces are kept.
- :mod:`simulator.telemetry.ids`: seeded, process-independent trace and span ids.
- :mod:`simulator.telemetry.spans`: the event stream turned into one compact trace per
  nonce during the run (no OpenTelemetry objects on the hot path).
- :mod:`simulator.telemetry.spanbuild`: that compact trace, and the span records built
  from it after the run (ids, shared shapes, errors, unfinished spans).
- :mod:`simulator.telemetry.records`: the span types exporters take (``SpanRecord``) and
  the compact form they are built from.
- :mod:`simulator.telemetry.otlpjson`: a plain OTLP JSON encoder (the text of
  OpenTelemetry's own file exporter, without SDK objects).
- :mod:`simulator.telemetry.otlp`: the kept traces as OTLP JSON Lines, or sent to an
  OTLP/HTTP endpoint with the OpenTelemetry exporter, after the run.

May import: every layer of :mod:`simulator` (it is the top one) and nothing imports it
back. Spans read only the event stream; metrics read the world's running counters at
scrape time, which costs a fraction of an event sink (measured in
:mod:`~simulator.telemetry.metrics`).
"""
