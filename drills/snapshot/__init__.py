"""``beamdrill dashboards snapshot``: a run's dashboards without a Grafana server. Every
panel's queries run against a real Prometheus over the run's time range and each dashboard
is drawn as one PNG per panel and one HTML page, with the drill's faults and operator steps."""
