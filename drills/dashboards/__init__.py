"""Grafana dashboards and Prometheus alert rules for recovery drills, generated with
``grafana-foundation-sdk`` (``beamdrill dashboards``)."""
