"""One analysis interval's samples, per cohort: what the judge compares.

Live steps read the intents the changed agent's row store settled in the interval: the
canary cohort is every intent the new version answered, the baseline every intent from a
tenant outside the cohort. A shadow period compares, intent by intent, the agent's own
answer with the one the shadow worked out (common random numbers: the same draws).
Metrics: ``latency_ms`` per intent (accepted to settled; in a shadow, the agent's
answering time) and ``error_rate_pct`` per tenant and bucket of the interval; on the bus,
``attempts_per_intent``: the attempts each intent accepted in the interval made by its end
(retry amplification; in flight or settled, so a cohort still retrying has data). Live
steps also count ``refused_sends``: the sends to the agent a rate limiter refused
(:meth:`World.watch_rate_limits`), per tenant and bucket the tenant sent the agent
anything in (so zeros where its sends all got in, none where it sent nothing).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from simulator import ShadowAnswer, tenant_of
from simulator.world import SettledIntent

#: Settled statuses that count as an error.
ERROR_STATUSES = frozenset({"failed", "dead_letter"})


@dataclass
class CohortSample:
    """One cohort's values in one interval."""

    latency_ms: list[float] = field(default_factory=list)
    #: Per (tenant, bucket): intents settled, and how many of them were errors.
    buckets: dict[tuple[str, int], list[int]] = field(default_factory=dict)
    #: Attempts per intent accepted in the interval (bus rollouts only).
    attempts: list[float] = field(default_factory=list)
    #: Per (tenant, bucket) of the cohort: sends to the agent a rate limiter refused.
    refused: dict[tuple[str, int], int] = field(default_factory=dict)

    def add(self, tenant: str, bucket: int, latency_ms: float, error: bool) -> None:
        """Count one settled intent."""
        self.latency_ms.append(latency_ms)
        counts = self.buckets.setdefault((tenant, bucket), [0, 0])
        counts[0] += 1
        counts[1] += error

    @property
    def intents(self) -> int:
        """How many intents the cohort settled."""
        return len(self.latency_ms)

    @property
    def errors(self) -> int:
        """How many of them were errors."""
        return sum(counts[1] for counts in self.buckets.values())

    @property
    def refused_sends(self) -> int:
        """How many of the cohort's sends to the agent a rate limiter refused."""
        return sum(self.refused.values())

    def refused_counts(self) -> list[float]:
        """The refused sends of each (tenant, bucket) of the cohort, in key order."""
        return [float(count) for _key, count in sorted(self.refused.items())]

    def error_rates(self) -> list[float]:
        """The error percentage of each (tenant, bucket) with an intent, in key order."""
        return [100.0 * errors / count for _key, (count, errors) in sorted(self.buckets.items())]

    def success_rate_pct(self) -> float | None:
        """Flagger's request success rate, in percent; None without intents."""
        return None if not self.intents else 100.0 * (self.intents - self.errors) / self.intents

    def p99_ms(self) -> float | None:
        """Flagger's request duration p99 (nearest rank), in milliseconds; None without intents."""
        if not self.latency_ms:
            return None
        ordered = sorted(self.latency_ms)
        return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]

    def median_ms(self) -> float | None:
        """The median latency, for the chart; None without intents."""
        if not self.latency_ms:
            return None
        ordered = sorted(self.latency_ms)
        middle = len(ordered) // 2
        return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


@dataclass
class IntervalSamples:
    """Both cohorts' values in one interval."""

    baseline: CohortSample = field(default_factory=CohortSample)
    canary: CohortSample = field(default_factory=CohortSample)


def live_samples(settled: list[SettledIntent], served: set[str], cohort: frozenset[str], start: float,
                 bucket: float) -> IntervalSamples:
    """Split the intents settled in an interval starting at ``start`` into cohorts: those
    the new version answered (``served``) and those from tenants outside ``cohort``."""
    samples = IntervalSamples()
    for intent in settled:
        tenant = tenant_of(intent.sender)
        index = int((intent.settled_at - start) // bucket)
        error = intent.status in ERROR_STATUSES
        latency = 1000.0 * (intent.settled_at - intent.accepted_at)
        if intent.nonce in served:
            samples.canary.add(tenant, index, latency, error)
        elif tenant not in cohort:
            samples.baseline.add(tenant, index, latency, error)
    return samples


def add_attempts(samples: IntervalSamples, accepted: list[tuple[str, str, int]], served: set[str],
                 cohort: frozenset[str]) -> None:
    """Add each accepted intent's ``(nonce, sender, attempts)`` to its cohort's attempts:
    the new version's (``served``) or a tenant's outside ``cohort``."""
    for nonce, sender, attempts in accepted:
        if nonce in served:
            samples.canary.attempts.append(float(attempts))
        elif tenant_of(sender) not in cohort:
            samples.baseline.attempts.append(float(attempts))


def add_refusals(samples: IntervalSamples, refusals: list[tuple[float, str]], accepted: list[tuple[float, str]],
                 cohort: frozenset[str], start: float, bucket: float) -> None:
    """Count each refused send ``(time, sender)`` for its tenant and bucket of the interval
    starting at ``start``, in the canary's side (a tenant in ``cohort``) or the baseline's.
    Every (tenant, bucket) with a send, refused or ``accepted``, has a count, zero when
    nothing was refused; a bucket a tenant sent nothing in has none."""
    for sends, refused in ((accepted, 0), (refusals, 1)):
        for time, sender in sends:
            tenant = tenant_of(sender)
            key = (tenant, int((time - start) // bucket))
            side = samples.canary if tenant in cohort else samples.baseline
            side.refused[key] = side.refused.get(key, 0) + refused


def shadow_samples(answers: list[tuple[float, ShadowAnswer]], start: float, bucket: float) -> IntervalSamples:
    """Pair each mirrored intent's own answer (baseline) with its shadow's (canary);
    ``answers`` holds each with the virtual time it was worked out."""
    samples = IntervalSamples()
    for time, answer in answers:
        index = int((time - start) // bucket)
        samples.baseline.add(answer.tenant, index, 1000.0 * answer.latency, not answer.success)
        samples.canary.add(answer.tenant, index, 1000.0 * answer.shadow_latency, not answer.shadow_success)
    return samples
