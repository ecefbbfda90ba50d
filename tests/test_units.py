"""Durations written back as a scenario file writes them (``format_duration``), and read
again to the same seconds."""

from __future__ import annotations

import pytest

from simulator.kernel.units import format_duration, parse_duration


@pytest.mark.parametrize("seconds, written", [
    (0.0, "0s"), (0.001, "1ms"), (0.25, "250ms"), (1.0, "1s"), (6.2, "6.2s"), (30.0, "30s"), (60.0, "1m"),
    (750.0, "12m30s"), (5400.0, "1h30m"), (86_400.0, "1d"), (90_061.5, "1d1h1m1.5s"), (59.999, "59.999s"),
])
def test_a_duration_is_written_as_files_write_it_and_reads_back(seconds: float, written: str) -> None:
    assert format_duration(seconds) == written
    assert parse_duration(written) == seconds
