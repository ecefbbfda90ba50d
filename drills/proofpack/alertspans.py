"""Which alert fired when, read from the chart's samples: one span per alert id and
severity, from the first sample that saw it to the first that did not (or the last)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from drills.proofpack.samples import Sample


@dataclass(frozen=True)
class AlertSpan:
    """Alert ``alert_id`` firing at ``severity`` from ``start`` to ``end`` (virtual seconds)."""

    alert_id: str
    start: float
    end: float
    severity: str


def alert_spans(samples: Sequence[Sample]) -> list[AlertSpan]:
    """Every span of every alert id in the samples, ordered by id (first fired first), then time."""
    spans: list[AlertSpan] = []
    open_since: dict[str, tuple[float, str]] = {}
    for sample in samples:
        for alert_id, (since, severity) in list(open_since.items()):
            if sample.alerts.get(alert_id) != severity:
                spans.append(AlertSpan(alert_id, since, sample.time, severity))
                del open_since[alert_id]
        for alert_id, severity in sample.alerts.items():
            open_since.setdefault(alert_id, (sample.time, severity))
    end = samples[-1].time if samples else 0.0
    spans += [AlertSpan(alert_id, since, end, severity) for alert_id, (since, severity) in open_since.items()]
    first = {alert_id: index for index, alert_id in enumerate(alert_ids(spans))}
    return sorted(spans, key=lambda span: (first[span.alert_id], span.start))


def alert_ids(spans: Sequence[AlertSpan]) -> list[str]:
    """The alert ids of ``spans`` in the order they first fired (ties by id)."""
    first: dict[str, float] = {}
    for span in spans:
        first[span.alert_id] = min(span.start, first.get(span.alert_id, span.start))
    return sorted(first, key=lambda alert_id: (first[alert_id], alert_id))
