"""A real Prometheus over a run's metrics: the HTTP API calls beamdrill makes, starting and
stopping the server on loopback, and loading a run's ``metrics.om`` into a fresh TSDB."""
