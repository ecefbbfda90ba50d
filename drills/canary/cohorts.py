"""Which tenants a canary step exposes: each tenant's share of the changed agent's traffic,
and cohorts grown in a seeded order up to a step's weight."""

from __future__ import annotations

import random

from simulator import Scenario, tenant_of
from simulator.kernel.rng import derive_seed


def traffic_shares(scenario: Scenario, agent: str) -> dict[str, float]:
    """Each sender tenant's percentage of the traffic routes send to ``agent`` (rates
    with tenant weights, before the daily profile), by tenant name in name order."""
    weights = scenario.tenant_weights()
    rates: dict[str, float] = {}
    for route in scenario.traffic.routes:
        if route.recipient == agent:
            tenant = tenant_of(route.sender)
            rates[tenant] = rates.get(tenant, 0.0) + route.rate * weights.get(tenant, 1.0)
    total = sum(rates.values())
    return {tenant: 100.0 * rate / total for tenant, rate in sorted(rates.items())} if total > 0 else {}


def cohort_order(shares: dict[str, float], seed: int) -> list[str]:
    """The order tenants join the canary in: a shuffle of the tenant names drawn from the
    seed's ``canary:cohort`` stream, so a rerun picks the same tenants."""
    order = sorted(shares)
    random.Random(derive_seed(seed, "canary:cohort")).shuffle(order)
    return order


def grow_cohort(current: list[str], order: list[str], shares: dict[str, float], weight: float) -> list[str]:
    """``current`` plus the next tenants of ``order`` whose shares keep the cohort's
    exposure at most ``weight`` percent (a tenant too large to fit is skipped)."""
    cohort = list(current)
    exposure = sum(shares[tenant] for tenant in cohort)
    for tenant in order:
        if tenant in cohort:
            continue
        if exposure + shares[tenant] <= weight + 1e-9:
            cohort.append(tenant)
            exposure += shares[tenant]
    return cohort


def exposure_pct(cohort: list[str], shares: dict[str, float]) -> float:
    """The percentage of the changed agent's traffic ``cohort`` sends."""
    return sum(shares.get(tenant, 0.0) for tenant in cohort)
